// Who is looking at the roster and where the organisation is. Set at boot
// (the time zone again with each week the server answers); read everywhere.

export const context = {
  me: null, // the signed-in StaffEntry
  manager: false,
  offered: [], // chat language codes from /api/status
  timezone: "UTC", // the organisation's
  locale: "en-GB",
};
