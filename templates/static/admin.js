// Pulse admin: progressive enhancement only; every page works without this file.
// Pages marked data-autorefresh="N" (an open round's participation) reload every N seconds,
// unless the visitor is typing in a form or the tab is hidden.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-autorefresh") || "", 10);
  if (!seconds || seconds < 5) { return; }
  window.setInterval(function () {
    var active = document.activeElement;
    var typing = active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (!document.hidden && !typing) { window.location.reload(); }
  }, seconds * 1000);
})();
