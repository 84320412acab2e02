// The navigation menu on small screens (assets/style.css folds the nav below 760 px): the
// "Menu" button opens and closes it, Escape closes it and gives the focus back to the button,
// following a link closes it. A file, not an inline script: the Content-Security-Policy refuses
// inline scripts and handlers (docs/security.md). Delegated listeners, so the nav links Dash
// re-renders on every page change need nothing of their own.
(function () {
  'use strict';
  function parts() {
    var button = document.getElementById('app-nav-toggle');
    var menu = document.getElementById('app-nav-menu');
    return button && menu ? {button: button, bar: button.closest('.topbar'), menu: menu} : null;
  }
  function setOpen(p, open) {
    p.bar.classList.toggle('nav-open', open);
    p.button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  document.addEventListener('click', function (event) {
    var p = parts();
    if (!p) { return; }
    if (p.button.contains(event.target)) {
      setOpen(p, !p.bar.classList.contains('nav-open'));
    } else if (p.menu.contains(event.target) && event.target.closest('a')) {
      setOpen(p, false);
    } else if (!p.bar.contains(event.target)) {
      setOpen(p, false);
    }
  });
  // The language switch (/lang/<code>?next=…) comes back to the page as it is now, whatever Dash
  // has rendered into the link so far (the address changes without a reload).
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a.lang-link');
    if (link) {
      var url = new URL(link.href, window.location.href);
      url.searchParams.set('next', window.location.pathname + window.location.search);
      link.href = url.pathname + url.search;
    }
  }, true);
  document.addEventListener('keydown', function (event) {
    var p = parts();
    if (p && event.key === 'Escape' && p.bar.classList.contains('nav-open')) {
      setOpen(p, false);
      p.button.focus();
    }
  });
})();
