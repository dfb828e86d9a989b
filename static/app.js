// Submits the authorize form automatically; without JS the user presses "Continue".
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});

// Tells the server this browser's time zone, so times read as the clock on the wall (smart_app/i18n.py).
// Without JS the deployment's zone is used.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    // IANA names ("America/New_York") are valid cookie values as they are.
    if (zone && /^[A-Za-z0-9_\/+-]{1,64}$/.test(zone) && document.cookie.indexOf("previsit_tz=" + zone) === -1) {
      document.cookie = "previsit_tz=" + zone + "; path=/; max-age=31536000; SameSite=None; Secure; Partitioned";
    }
  } catch (e) { /* an old browser: the deployment's zone is used */ }
})();
