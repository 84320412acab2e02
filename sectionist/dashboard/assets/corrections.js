// The Songs page's "Correct this structure" panel (sectionist/dashboard/ui/components/corrections.py):
// a click on the song's timeline gives the time under the pointer (Plotly's click data gives the
// clicked block, not where in it), and the lane clicked; both go to the panel's store
// (ids.SONGS_CORRECT_CLICK), whose server callback says what is picked. Only while the panel is on
// the page and shown (an expert, the Lanes view of one song). A file, not an inline script
// (docs/security.md).
(function () {
  'use strict';
  var GRAPH = 'songs-timeline', PANEL = 'songs-correct', STORE = 'songs-correct-click';
  var previous = null;

  function clickedTime(gd, ev) {
    var xa = gd._fullLayout && gd._fullLayout.xaxis;
    var e = ev && ev.event;
    if (!xa || !e || typeof xa.p2d !== 'function') { return null; }
    var box = gd.getBoundingClientRect();
    var t = xa.p2d(e.clientX - box.left - xa._offset);
    var range = xa.range || [0, t];
    return Math.min(Math.max(t, Math.min(range[0], range[1])), Math.max(range[0], range[1]));
  }

  function watch(gd) {
    if (gd._sectionistCorrect || typeof gd.on !== 'function') { return; }
    gd._sectionistCorrect = true;
    gd.on('plotly_click', function (ev) {
      var panel = document.getElementById(PANEL);
      if (!panel || panel.hidden || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
      var t = clickedTime(gd, ev);
      if (t === null || !isFinite(t)) { return; }
      var pt = ev.points && ev.points[0];
      var lane = pt && pt.data && pt.data.meta ? pt.data.meta[0] : null;
      // the previous click travels along: when this click comes before the server's answer to that
      // one, Dash drops that answer, and the server adds the previous click back from here
      var click = {time: t, n: Date.now()};
      window.dash_clientside.set_props(STORE, {data: {time: t, lane: lane, n: click.n, recent: previous ? [previous] : []}});
      previous = click;
    });
  }

  // The picked times as dashed lines across the timeline (a clientside callback on the panel's
  // picks, ui/components/corrections.py), so the expert sees where each click landed.
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.sectionist_corrections = {
    mark: function (picks) {
      var root = document.getElementById(GRAPH);
      var gd = root && root.querySelector('.js-plotly-plot');
      if (!gd || !gd.layout || !window.Plotly) { return; }
      var shapes = (gd.layout.shapes || []).filter(function (s) { return s.name !== 'correct-pick'; });
      ((picks && picks.times) || []).forEach(function (t) {
        shapes.push({type: 'line', name: 'correct-pick', xref: 'x', yref: 'paper', x0: t, x1: t, y0: 0, y1: 1,
                     line: {color: '#b91c1c', width: 2, dash: 'dash'}});
      });
      window.Plotly.relayout(gd, {shapes: shapes});
    }
  };

  window.setInterval(function () {
    var root = document.getElementById(GRAPH);
    var gd = root && root.querySelector('.js-plotly-plot');
    if (gd) { watch(gd); }
  }, 300);
})();
