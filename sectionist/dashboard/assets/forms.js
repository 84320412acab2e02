// Behaviour of the server-rendered forms (the admin's users page) without inline event handlers,
// which the Content-Security-Policy forbids (docs/security.md): a <select data-autosubmit> submits
// its form when it changes; a <form data-confirm="…"> asks before it is submitted. Dash loads every
// assets/*.js on its pages too, where this finds nothing to do.
(function () {
  'use strict';
  document.addEventListener('change', function (event) {
    var el = event.target;
    if (el && el.matches && el.matches('select[data-autosubmit]') && el.form) {
      el.form.submit();
    }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
