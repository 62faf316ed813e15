// A unit's crew as every page reads it (the console's unit board, the crew's tablet).

// Whether a crew is on board (dispatch/model.py Unit.staffed): a shift is open, or shifts were never logged.
export function staffed(unit) {
  return unit.shift != null || unit.off_shift_since == null;
}
