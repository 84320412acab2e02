// Keyboard shortcuts for judging (sectionist/dashboard/ui/components/judging.py):
//   a / d / u  press the Agree / Disagree / Unsure button of the visible judging panel (on the judge
//              page, once per section: a key pressed before the next section arrives is ignored)
//   n          the Next button of the judge page
//   space      play / pause the section being judged (or the first section player on the page)
// Keys typed into inputs, text areas, dropdowns or with a modifier are left alone.
(function () {
  function typing(el) {
    if (!el) return false;
    var tag = (el.tagName || "").toUpperCase();
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable ||
      (el.closest && el.closest(".Select, .dash-dropdown"));
  }
  function visible(el) {
    return el && el.offsetParent !== null;
  }
  function first(selector) {
    var all = document.querySelectorAll(selector);
    for (var i = 0; i < all.length; i++) if (visible(all[i])) return all[i];
    return null;
  }
  var pending = null;  // {section, at}: the judge-page verdict whose next panel has not arrived yet
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var key = e.key;
    if (key === "a" || key === "d" || key === "u") {
      var btn = first('.judge-panel [data-judge-key="' + key + '"]');
      if (!btn) return;
      var panel = btn.closest(".judge-panel");
      var section = panel && panel.getAttribute("data-section");
      // on the judge page a verdict moves the queue on: until the next section's panel arrives, a
      // second key press would judge the previous section again, so it is held back (for at most 5 s)
      if (pending && pending.section === section && Date.now() - pending.at < 5000) { e.preventDefault(); return; }
      pending = panel && panel.getAttribute("data-judge-page") === "judge" ? {section: section, at: Date.now()} : null;
      btn.click();
      e.preventDefault();
    } else if (key === "n") {
      var next = first("[data-judge-next]");
      if (next) { next.click(); e.preventDefault(); }
    } else if (key === " " || key === "Spacebar") {
      var audio = document.getElementById("judge-audio") || first(".detail audio") || first("audio");
      if (audio) {
        // a focused button would also take the space as a click (a second verdict): not here
        if (document.activeElement && document.activeElement.tagName === "BUTTON") document.activeElement.blur();
        if (audio.paused) { var p = audio.play(); if (p && p.catch) p.catch(function () {}); } else { audio.pause(); }
        e.preventDefault();
      }
    }
  });
})();
