// Progressive enhancement only: every action below also works as a plain form post.
// The Content-Security-Policy allows no inline script: behaviour hangs on data attributes.

// The reader's time zone, for times the server writes: the browser's, unless the profile says.
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!tz) return;
    var current = (document.cookie.match(/(?:^|; )fl_tz=([^;]*)/) || [])[1];
    if (current !== encodeURIComponent(tz)) {
      document.cookie = 'fl_tz=' + encodeURIComponent(tz) + '; path=/; max-age=31536000; samesite=lax';
    }
  } catch (e) {}
})();

// <form data-confirm="question">: ask before an irreversible action.
document.addEventListener('submit', function (ev) {
  var form = ev.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
}, true);
// <input type="checkbox" data-select-all="name" hidden>: shown with JavaScript, it checks or
// clears every checkbox of that name in its form, and follows them when they are ticked one by one.
(function () {
  document.querySelectorAll('input[data-select-all]').forEach(function (all) {
    var form = all.form || all.closest('form');
    if (!form) return;
    var boxes = function () { return form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]'); };
    if (!boxes().length) return;
    all.hidden = false;
    all.addEventListener('change', function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
    });
    form.addEventListener('change', function (ev) {
      if (ev.target === all) return;
      var list = Array.prototype.slice.call(boxes());
      var n = list.filter(function (b) { return b.checked; }).length;
      all.checked = n === list.length;
      all.indeterminate = n > 0 && n < list.length;
    });
  });
})();

// <select data-autosubmit>: a filter applies as soon as it changes (a button does it without JS).
document.addEventListener('change', function (ev) {
  var el = ev.target;
  if (el.matches && el.matches('select[data-autosubmit]') && el.form) el.form.submit();
});

(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]');
  csrf = csrf ? csrf.content : '';
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.matches('form[data-like]')) return;
    ev.preventDefault();
    var liked = form.dataset.liked === 'true';
    fetch('/api/v1/posts/' + form.dataset.like + '/like', {
      method: liked ? 'DELETE' : 'PUT',
      headers: { 'X-CSRF-Token': csrf },
      credentials: 'same-origin'
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (body) {
        form.dataset.liked = String(body.liked);
        var btn = form.querySelector('button');
        btn.classList.toggle('liked', body.liked);
        btn.querySelector('[data-like-count]').textContent = body.like_count;
      })
      .catch(function () { form.submit(); });
  });
})();

// Feedback form: suggest likely duplicates while the fan types (the "Check for duplicates"
// button does the same without JavaScript).
(function () {
  var form = document.querySelector('form[data-dup-check]');
  var box = document.getElementById('duplicates');
  if (!form || !box) return;
  var list = box.querySelector('[data-duplicates]');
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var timer = null;
  function check() {
    var title = form.querySelector('[name=title]').value;
    var description = form.querySelector('[name=description]').value;
    if ((title + description).trim().length < 6) return;
    fetch(form.dataset.dupCheck, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      credentials: 'same-origin',
      body: JSON.stringify({ title: title, description: description })
    }).then(function (r) { return r.ok ? r.json() : []; }).then(function (items) {
      list.textContent = '';
      items.forEach(function (c) {
        var li = document.createElement('li');
        li.className = 'row-between';
        var a = document.createElement('a');
        a.href = '/requests/' + c.request.id;
        a.textContent = c.request.title;
        var span = document.createElement('span');
        span.appendChild(a);
        span.appendChild(document.createTextNode(' · ' + c.request.vote_count + ' · ' + Math.round(c.similarity * 100) + '%'));
        var vote = document.createElement('form');
        vote.method = 'post';
        vote.action = '/requests/' + c.request.id + '/vote';
        var hidden = document.createElement('input');
        hidden.type = 'hidden'; hidden.name = '_csrf'; hidden.value = csrf;
        var button = document.createElement('button');
        button.className = 'button small'; button.type = 'submit'; button.textContent = '+1';
        vote.appendChild(hidden); vote.appendChild(button);
        li.appendChild(span); li.appendChild(vote);
        list.appendChild(li);
      });
      box.hidden = items.length === 0;
    }).catch(function () {});
  }
  form.addEventListener('input', function (ev) {
    if (ev.target.name !== 'title' && ev.target.name !== 'description') return;
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
})();

// Launch page: a countdown against the server's clock, and live remaining stock over SSE.
(function () {
  var box = document.querySelector('[data-drop][data-opens-at]');
  if (!box) return;
  var skew = Number(box.dataset.serverTime) - Date.now();
  var opensAt = Number(box.dataset.opensAt);
  var out = box.querySelector('[data-countdown]');
  function tick() {
    var left = Math.max(0, opensAt - (Date.now() + skew));
    var s = Math.floor(left / 1000);
    var text = left > 0 ? ('⏱ ' + Math.floor(s / 3600) + ':' + String(Math.floor(s / 60) % 60).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0')) : (out && out.dataset.openText) || '';
    if (out && out.textContent !== text) out.textContent = text;
    // The buy button opens with the sale, without a reload.
    if (left <= 0 && !box.dataset.opened) {
      box.dataset.opened = '1';
      var buy = box.querySelector('form[data-buy] button[disabled]');
      if (buy && buy.dataset.label) { buy.disabled = false; buy.textContent = buy.dataset.label; }
    }
  }
  tick();
  setInterval(tick, 500);
  if (!window.EventSource) return;
  var events = new EventSource('/api/v1/drops/' + box.dataset.drop + '/stream');
  events.addEventListener('stock', function (ev) {
    var view = JSON.parse(ev.data);
    view.remaining.forEach(function (r) {
      var cell = document.querySelector('[data-remaining="' + r[0] + '"]');
      if (cell) cell.textContent = r[1] + r[2];
    });
  });
})();
