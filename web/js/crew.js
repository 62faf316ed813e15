// A unit's crew as every page reads it (the console's unit board, the crew's tablet).
import {t} from "./i18n.js";

// Whether a crew is on board (dispatch/model.py Unit.staffed): a shift is open, or shifts were never logged.
export function staffed(unit) {
  return unit.shift != null || unit.off_shift_since == null;
}

// A crew member's qualification is typed by the crew in either language ("Driver", "พลขับ"): the common ones are
// shown in the page's language (labels qualification.<key>); certificates such as EMT-B, and anything else, as typed.
const QUALIFICATIONS = {
  driver: ["driver", "ambulance driver", "พนักงานขับรถ", "พนักงานขับรถพยาบาล", "พลขับ", "คนขับรถ", "คนขับ"],
  nurse: ["nurse", "พยาบาล"],
  registered_nurse: ["registered nurse", "rn", "พยาบาลวิชาชีพ"],
  paramedic: ["paramedic", "นักปฏิบัติการฉุกเฉินการแพทย์", "นฉพ.", "นฉพ"],
  rescue_volunteer: ["rescue volunteer", "volunteer", "อาสากู้ภัย", "อาสาสมัครกู้ภัย", "อาสา"],
  doctor: ["doctor", "physician", "แพทย์", "หมอ"],
};
const QUALIFICATION_KEYS = new Map(Object.entries(QUALIFICATIONS).flatMap(([key, words]) => words.map(w => [w, key])));

export function qualificationLabel(text) {
  const key = QUALIFICATION_KEYS.get(String(text ?? "").trim().toLowerCase().replace(/\s+/g, " "));
  return key ? t(`qualification.${key}`) : text;
}
