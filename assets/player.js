// Moves the playhead of a section player (.player[data-start][data-duration]) while its audio
// plays, so a listener sees where the section sits in its song. One listener for the whole page:
// media events do not bubble, so it listens in the capture phase.
(function () {
  function update(audio) {
    var player = audio.closest ? audio.closest(".player") : null;
    if (!player) return;
    var start = parseFloat(player.getAttribute("data-start")) || 0;
    var duration = parseFloat(player.getAttribute("data-duration")) || 0;
    var head = player.querySelector(".songbar-playhead");
    if (!head || duration <= 0) return;
    var t = start + (audio.currentTime || 0);
    head.style.left = Math.min(100, (100 * t) / duration).toFixed(3) + "%";
    player.classList.toggle("playing", !audio.paused);
  }
  ["timeupdate", "play", "pause", "seeked", "ended"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      if (e.target && e.target.tagName === "AUDIO") update(e.target);
    }, true);
  });
  // only one section plays at a time
  document.addEventListener("play", function (e) {
    if (!e.target || e.target.tagName !== "AUDIO") return;
    document.querySelectorAll("audio").forEach(function (a) { if (a !== e.target) a.pause(); });
  }, true);
})();
