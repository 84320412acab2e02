// Keyboard shortcuts for judging (sectionist/dashboard/ui/components/judging.py):
//   a / d / u  press the Agree / Disagree / Unsure button of the section on screen
//   n          the Next button of the judge page
//   space      play / pause the section being judged (or the first section player on the page)
// Keys typed into inputs, text areas, dropdowns or with a modifier are left alone.
//
// No key press is dropped. On the judge page a verdict moves the queue on, and the next section's
// item (#judge-item, data-judge-item) and its judging panel (data-section) arrive from two
// callbacks, in either order, some time after the key. A press goes to the section on screen when
// it was pressed (the judge page's item; elsewhere the panel's) and waits in a queue, in order,
// until that section's panel is there: pressed a moment after the next section appeared, it
// judges that section once its panel arrives; pressed again on a section whose verdict is still on
// its way, it waits for that verdict to be saved (the panel's status line changes) and then
// replaces it (the history keeps both). While a press waits, #judge-key-wait says so; a press whose
// section never arrives (15 s) is reported in #judge-key-lost, never silently forgotten.
//
// Pairs mode (the judge page's "do these two sound like the same kind?"): s / d press the Same kind /
// Different button of the pair on screen (data-pair-item). The answer bar is disabled from the
// click until the next pair is on screen; a key pressed meanwhile is not applied to a pair the
// expert has not heard, and #judge-pair-note says so (visible, never silent).
(function () {
  var pairSent = null;  // the pair whose answer is on its way
  function pairOnScreen() {
    var el = document.querySelector("[data-pair-item]");
    return el && el.offsetParent !== null ? el.getAttribute("data-pair-item") : null;
  }
  function setBusy(busy) {
    document.querySelectorAll("[data-pair-key]").forEach(function (b) { b.disabled = busy; });
    var note = document.getElementById("judge-pair-note");
    if (note && !busy) note.hidden = true;
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-pair-key]");
    if (!btn || btn.disabled) return;
    var pair = pairSent = pairOnScreen();
    // after the click has reached Dash's handler: disable until the next pair arrives (or, should
    // the answer never come back, for 15 s: then the bar is usable again for this pair)
    setTimeout(function () { if (pairSent) setBusy(true); }, 0);
    setTimeout(function () { if (pairSent === pair) { pairSent = null; setBusy(false); } }, 15000);
  });
  new MutationObserver(function () {
    if (pairSent && pairOnScreen() !== pairSent) { pairSent = null; setBusy(false); }
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                         attributeFilter: ["data-pair-item", "hidden"]});
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if ((e.key !== "s" && e.key !== "d") || !pairOnScreen()) return;
    var tag = (e.target.tagName || "").toUpperCase();
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.target.isContentEditable ||
        (e.target.closest && e.target.closest(".Select, .dash-dropdown"))) return;
    e.preventDefault();  // the section verdict keys (d: disagree) do not apply to a pair
    if (pairSent) {
      var note = document.getElementById("judge-pair-note");
      if (note) note.hidden = false;
      return;
    }
    var btn = document.querySelector('[data-pair-key="' + e.key + '"]');
    if (btn && !btn.disabled) btn.click();
  }, true);
})();

(function () {
  var TIMEOUT_MS = 15000;
  var LOST_SHOWN_MS = 6000;
  var queue = [];     // presses waiting for their section: {key, section, at}
  var sent = {};      // section -> true: a verdict key was sent from the judge page for it
  var timer = null;
  var lostTimer = null;

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
  // the section the expert sees: the judge page's queue item, else the judging panel's
  function onScreen() {
    var item = first("[data-judge-item]");
    if (item) return item.getAttribute("data-judge-item");
    var btn = first(".judge-panel [data-judge-key]");
    var panel = btn && btn.closest(".judge-panel");
    return panel ? panel.getAttribute("data-section") : null;
  }
  function judgePage() {
    return !!document.getElementById("judge-item");
  }
  function panelFor(section) {
    var all = document.querySelectorAll(".judge-panel");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-section") === section && visible(all[i]) &&
          all[i].querySelector("[data-judge-key]")) return all[i];
    }
    return null;
  }
  function statusOf(panel) {
    var s = panel.querySelector(".judge-status");
    return s ? s.textContent : "";
  }
  function show(id, on) {
    var el = document.getElementById(id);
    if (el) el.hidden = !on;
  }

  // one press, now if its section allows: true when done with it
  function apply(press) {
    if (press.key === "n") {
      // skip the section on screen when pressed: nothing to do when the queue has left it already,
      // or when a verdict on it is on its way (that moves on by itself)
      var item = first("[data-judge-item]");
      if (sent[press.section] || (item && item.getAttribute("data-judge-item") !== press.section)) return true;
      var next = first("[data-judge-next]");
      if (next) next.click();
      return true;
    }
    var panel = panelFor(press.section);
    if (!panel) return false;
    var onJudgePage = panel.getAttribute("data-judge-page") === "judge";
    if (onJudgePage && panel.sectionistSent && statusOf(panel) === panel.sectionistStatus) return false;
    var btn = panel.querySelector('[data-judge-key="' + press.key + '"]');
    if (!btn) return true;
    if (onJudgePage) {
      panel.sectionistSent = true;
      panel.sectionistStatus = statusOf(panel);
      sent[press.section] = true;
    }
    btn.click();
    return true;
  }
  function flush() {
    timer = null;
    while (queue.length) {
      if (apply(queue[0])) { queue.shift(); continue; }
      if (Date.now() - queue[0].at > TIMEOUT_MS) { queue.shift(); lost(); continue; }
      break;
    }
    show("judge-key-wait", queue.length > 0);
    if (queue.length) timer = setTimeout(flush, 25);
  }
  function lost() {
    show("judge-key-lost", true);
    if (lostTimer) clearTimeout(lostTimer);
    lostTimer = setTimeout(function () { show("judge-key-lost", false); }, LOST_SHOWN_MS);
  }
  function press(key) {
    var section = onScreen();
    if (!section) return false;
    queue.push({key: key, section: section, at: Date.now()});
    if (!judgePage() || queue.length === 1) flush();
    else if (!timer) timer = setTimeout(flush, 0);
    return true;
  }
  // a panel or an item arriving, or a status line changing: try the waiting presses at once
  new MutationObserver(function () {
    if (queue.length) flush();
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true, attributes: true,
                                         attributeFilter: ["data-section", "data-judge-item"]});

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var key = e.key;
    if (key === "a" || key === "d" || key === "u") {
      if (!first(".judge-panel [data-judge-key]") && !first("[data-judge-item]")) return;
      if (press(key)) e.preventDefault();
    } else if (key === "n") {
      if (!first("[data-judge-next]")) return;
      if (judgePage() && onScreen()) { if (press("n")) e.preventDefault(); return; }
      first("[data-judge-next]").click();
      e.preventDefault();
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
