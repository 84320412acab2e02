// Figures on a narrow screen (a phone, or a narrow window): the server does not know the screen's
// width, so a figure builder puts its narrow variants in the figure itself, as
// layout.meta.narrow = [{below: px, data: {...}, layout: {...}}, ...] (or one such object; below
// defaults to NARROW) — the arguments of Plotly.update: short tick labels and node names whose
// long forms stay in the hover, fewer cell numbers, other margins. Every plot narrower than a
// variant's `below` gets that variant, once per figure Dash draws (a new figure from a callback
// comes without the mark and is narrowed again). A file, not an inline script (docs/security.md).
//
// A figure whose layout.meta.scroll_to names an element id (the Map: its detail panel) brings that
// element into view after a point is tapped on a narrow screen, once the element has changed (the
// detail arrives from the server), so the listener sees what they tapped.
(function () {
  'use strict';
  var NARROW = 600;

  function narrowed(gd) {
    var meta = gd.layout && gd.layout.meta;
    if (!meta || !meta.narrow || meta.narrow_applied || gd.clientWidth === 0) { return; }
    var variants = Array.isArray(meta.narrow) ? meta.narrow : [meta.narrow];
    var data = {}, layout = {};
    variants.forEach(function (v) {
      if (gd.clientWidth < (v.below || NARROW)) {
        Object.assign(data, v.data || {});
        Object.assign(layout, v.layout || {});
      }
    });
    layout['meta.narrow_applied'] = true;
    // a taller variant: the graph's box (sized to the figure's height by its page) grows with it
    var box = gd.parentElement;
    if (layout.height && box && box.id && box.style.height) { box.style.height = layout.height + 'px'; }
    window.Plotly.update(gd, data, layout);
  }

  function watchTaps(gd) {
    var meta = gd.layout && gd.layout.meta;
    if (!meta || !meta.scroll_to || gd._sectionistTaps || typeof gd.on !== 'function') { return; }
    gd._sectionistTaps = true;
    gd.on('plotly_click', function () {
      if (window.innerWidth >= NARROW) { return; }
      var target = document.getElementById((gd.layout.meta || {}).scroll_to);
      if (!target) { return; }
      var done = false;
      var go = function () {
        if (done) { return; }
        done = true;
        observer.disconnect();
        target.scrollIntoView({behavior: 'smooth', block: 'start'});
      };
      var observer = new MutationObserver(go);
      observer.observe(target, {childList: true, subtree: true});
      window.setTimeout(go, 4000);  // the detail did not change (the same section again): go anyway
    });
  }

  function scan() {
    if (!window.Plotly) { return; }
    var plots = document.querySelectorAll('.js-plotly-plot');
    for (var i = 0; i < plots.length; i++) {
      narrowed(plots[i]);
      watchTaps(plots[i]);
    }
  }
  window.setInterval(scan, 300);
})();
