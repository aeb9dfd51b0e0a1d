import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./locales/en";
import { tr } from "./locales/tr";

export const LANGUAGES = [
  { value: "en", label: "English" },
  { value: "tr", label: "Türkçe" },
];

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("keel.lang") : null;
const browser = typeof navigator !== "undefined" && navigator.language.startsWith("tr") ? "tr" : "en";

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, tr: { translation: tr } },
  lng: saved ?? browser,
  fallbackLng: "en",
  interpolation: { escapeValue: false },
});

export function setLanguage(lang: string): void {
  localStorage.setItem("keel.lang", lang);
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
}
document.documentElement.lang = i18n.language;

/** Status, bucket and hold codes in words; an unknown code shows as itself. */
export function label(group: "status" | "buckets" | "hold", code: string): string {
  return i18n.t(`${group}.${code}`, { defaultValue: code.replaceAll("_", " ") });
}

export default i18n;
