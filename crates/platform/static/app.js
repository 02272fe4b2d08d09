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

// A drop's wall: new posts appear at the top while the page is open (every 5 s, read from the
// database, so a post made through any node shows; the oldest new ones come first, so none is
// skipped however many arrive).
(function () {
  var wall = document.querySelector('[data-wall]');
  if (!wall || !window.fetch) return;
  var list = wall.querySelector('[data-wall-list]');
  var count = wall.querySelector('[data-wall-count]');
  var after = Number(wall.dataset.after) || 0;
  var fmt = window.Intl && Intl.DateTimeFormat ? new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: 'short', timeStyle: 'short' }) : null;
  function item(p) {
    var li = document.createElement('li');
    li.dataset.wallPost = p.id;
    var head = document.createElement('p');
    head.className = 'small';
    var who = document.createElement('strong');
    who.textContent = p.display_name;
    var meta = document.createElement('span');
    meta.className = 'muted';
    meta.textContent = ' @' + p.username + (fmt ? ' · ' + fmt.format(new Date(p.created_at)) : '');
    head.appendChild(who);
    head.appendChild(meta);
    var body = document.createElement('p');
    body.className = 'wall-body';
    body.textContent = p.body;
    li.appendChild(head);
    li.appendChild(body);
    return li;
  }
  function poll() {
    if (document.hidden) return;
    fetch('/api/v1/drops/' + encodeURIComponent(wall.dataset.wall) + '/wall?after=' + after, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (w) {
        if (!w) return;
        var empty = list.querySelector('[data-wall-empty]');
        w.posts.forEach(function (p) {
          if (p.id <= after || list.querySelector('[data-wall-post="' + p.id + '"]')) return;
          if (empty) { empty.remove(); empty = null; }
          list.insertBefore(item(p), list.firstChild);
        });
        if (w.posts.length) after = Math.max(after, w.posts[w.posts.length - 1].id);
        if (count) count.textContent = w.counted;
      })
      .catch(function () {});
  }
  setInterval(poll, 5000);
})();

// Live counts: the bell's unread notifications, and new replies to the thread being read, as
// the server pushes them (a write on any node arrives within about a second).  Streams are open
// only while the tab is visible: a browser allows few connections per site, and hidden tabs must
// not take them from the visible one.
(function () {
  if (!window.EventSource) return;
  var bell = document.querySelector('a[data-live-unread]');
  var banner = document.querySelector('[data-new-posts]');
  if (!bell && !banner) return;
  var open = [];
  function onUnread(ev) {
    var n = JSON.parse(ev.data).unread;
    var count = bell.querySelector('.count');
    if (n > 0) {
      if (!count) {
        count = document.createElement('span');
        count.className = 'count';
        count.setAttribute('data-unread', '');
        bell.appendChild(count);
      }
      count.textContent = String(n);
    } else if (count) {
      count.remove();
    }
  }
  function onPosts(ev) {
    var v = JSON.parse(ev.data);
    var link = banner.querySelector('a');
    if (!v.new || !v.first) { link.hidden = true; return; }
    link.textContent = v.new === 1 ? banner.dataset.one : banner.dataset.many.replace('{n}', v.new);
    link.href = '/p/' + v.first;
    link.hidden = false;
  }
  function start() {
    if (bell) {
      var b = new EventSource('/api/v1/notifications/stream');
      b.addEventListener('unread', onUnread);
      open.push(b);
    }
    if (banner) {
      var t = new EventSource('/api/v1/threads/' + banner.dataset.thread + '/stream?after=' + banner.dataset.after);
      t.addEventListener('posts', onPosts);
      open.push(t);
    }
  }
  function stop() {
    open.forEach(function (s) { s.close(); });
    open = [];
  }
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) stop(); else if (!open.length) start();
  });
  if (!document.hidden) start();
})();

// Composer: drafts kept in this browser until sent, a live preview rendered by the server (the
// same sanitising as a published post), @ suggestions, and quoting a selected passage.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';
  document.querySelectorAll('textarea[data-composer]').forEach(function (area) {
    var form = area.form;
    if (!form) return;
    var key = 'fl-draft:' + area.dataset.composer;
    var tools = form.querySelector('[data-composer-tools]');
    var preview = form.querySelector('[data-preview]');
    var list = form.querySelector('[data-mention-list]');
    var note = form.querySelector('[data-draft-note]');
    var toggle = form.querySelector('[data-preview-toggle]');
    if (tools) tools.hidden = false;
    var title = form.querySelector('input[name=title]');
    try {
      var saved = localStorage.getItem(key);
      if (saved && !area.value.trim()) { area.value = saved; if (note) note.hidden = false; }
      var savedTitle = localStorage.getItem(key + ':title');
      if (title && savedTitle && !title.value.trim()) title.value = savedTitle;
    } catch (e) {}
    if (title) {
      title.addEventListener('input', function () {
        try { localStorage.setItem(key + ':title', title.value); } catch (e) {}
      });
    }
    var timer;
    function render() {
      fetch('/api/v1/markdown/preview', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ body: area.value }),
      }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
        .then(function (b) { preview.innerHTML = b.html; })
        .catch(function () {});
    }
    if (toggle && preview) {
      toggle.addEventListener('click', function () {
        preview.hidden = !preview.hidden;
        toggle.setAttribute('aria-expanded', String(!preview.hidden));
        if (!preview.hidden) render();
      });
    }
    // A picture: sent as it is, stored re-encoded; its markdown goes where the cursor is.
    var imageButton = form.querySelector('[data-image-button]');
    var imageInput = form.querySelector('[data-image-input]');
    var imageStatus = form.querySelector('[data-image-status]');
    if (imageButton && imageInput && imageStatus) {
      imageButton.addEventListener('click', function () { imageInput.click(); });
      imageInput.addEventListener('change', function () {
        var file = imageInput.files && imageInput.files[0];
        if (!file) return;
        imageStatus.textContent = imageStatus.dataset.sending;
        imageStatus.hidden = false;
        imageButton.disabled = true;
        fetch('/api/v1/uploads?name=' + encodeURIComponent(file.name), {
          method: 'POST', credentials: 'same-origin',
          headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': csrf },
          body: file,
        }).then(function (r) {
          if (!r.ok) return Promise.reject(r.status);
          return r.json();
        }).then(function (b) {
          var at = typeof area.selectionStart === 'number' ? area.selectionStart : area.value.length;
          var before = area.value.slice(0, at);
          var line = (before && !/\n$/.test(before) ? '\n' : '') + b.markdown + '\n';
          area.value = before + line + area.value.slice(at);
          area.focus();
          area.setSelectionRange(at + line.length, at + line.length);
          area.dispatchEvent(new Event('input'));
          imageStatus.hidden = true;
        }).catch(function (status) {
          imageStatus.textContent = imageStatus.getAttribute('data-err-' + status) || imageStatus.dataset.failed;
        }).then(function () {
          imageButton.disabled = false;
          imageInput.value = '';
        });
      });
    }
    var typed = 0;
    function pick(name) {
      var pos = area.selectionStart;
      area.value = area.value.slice(0, pos - typed) + name + ' ' + area.value.slice(pos);
      var at = pos - typed + name.length + 1;
      area.focus();
      area.setSelectionRange(at, at);
      list.hidden = true;
      area.dispatchEvent(new Event('input'));
    }
    function suggest() {
      if (!list) return;
      var upto = area.value.slice(0, area.selectionStart);
      var m = /(?:^|[^\w@])@([\p{L}\p{N}_.\-]{1,32})$/u.exec(upto);
      if (!m) { list.hidden = true; return; }
      typed = m[1].length;
      fetch('/api/v1/users/suggest?q=' + encodeURIComponent(m[1]), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (users) {
          list.innerHTML = '';
          users.forEach(function (u) {
            var li = document.createElement('li');
            li.setAttribute('role', 'option');
            li.setAttribute('aria-selected', 'false');
            li.textContent = '@' + u.username + (u.team ? ' · ' + u.team : '');
            li.addEventListener('mousedown', function (ev) { ev.preventDefault(); pick(u.username); });
            list.appendChild(li);
          });
          list.hidden = users.length === 0;
        }).catch(function () {});
    }
    area.addEventListener('input', function () {
      try {
        if (area.value.trim()) localStorage.setItem(key, area.value); else localStorage.removeItem(key);
      } catch (e) {}
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (preview && !preview.hidden) render();
        suggest();
      }, 250);
    });
    area.addEventListener('keydown', function (ev) {
      if (!list || list.hidden) return;
      var items = Array.prototype.slice.call(list.querySelectorAll('li'));
      var i = items.findIndex(function (li) { return li.getAttribute('aria-selected') === 'true'; });
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        i = ev.key === 'ArrowDown' ? (i + 1) % items.length : (i - 1 + items.length) % items.length;
        items.forEach(function (li, j) { li.setAttribute('aria-selected', String(j === i)); });
      } else if ((ev.key === 'Enter' || ev.key === 'Tab') && i >= 0) {
        ev.preventDefault();
        pick(items[i].textContent.slice(1).split(' · ')[0]);
      } else if (ev.key === 'Escape') {
        list.hidden = true;
      }
    });
    form.addEventListener('submit', function () {
      try { localStorage.removeItem(key); localStorage.removeItem(key + ':title'); } catch (e) {}
    });
  });

  // Quote: a passage selected in a post goes into the reply box; without a selection (or
  // without JavaScript) the link quotes the whole post.
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a[data-quote]');
    if (!a) return;
    var area = document.querySelector('textarea[data-composer^="reply:"]');
    var post = document.getElementById('p' + a.dataset.quote);
    var sel = window.getSelection();
    if (!area || !post || !sel || sel.isCollapsed || !post.contains(sel.anchorNode)) return;
    var text = sel.toString().trim();
    if (!text) return;
    ev.preventDefault();
    var quoted = text.split('\n').map(function (l) { return l ? '> ' + l : '>'; }).join('\n') +
      '\n> — @' + a.dataset.quoteAuthor + '\n\n';
    area.value = (area.value.trim() ? area.value.replace(/\s*$/, '\n\n') : '') + quoted;
    area.focus();
    area.dispatchEvent(new Event('input'));
    area.scrollIntoView({ block: 'center' });
  });
})();

// Ask an expert: while a conversation is open on screen, new messages (from any node) and a
// change of status or place in the queue replace the transcript without a reload, so what the
// reader is typing stays.  Without JavaScript the page is complete and a reload shows them.
(function () {
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var box = document.querySelector('[data-live-conversation]');
  if (!box) return;
  var id = box.dataset.liveConversation;
  var stream = null;
  var asked = 0;
  function refresh() {
    // The conversation's own address (the page may be a refused form's answer), and only the
    // newest answer is applied when refreshes overlap.
    var mine = ++asked;
    fetch('/hub/questions/' + id, { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html || mine !== asked) return;
      var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-live-conversation]');
      if (fresh) { box.replaceWith(fresh); box = fresh; }
    }).catch(function () {});
  }
  function start() {
    stream = new EventSource('/api/v1/hub/questions/' + id + '/stream');
    stream.addEventListener('conversation', function (ev) {
      var v = JSON.parse(ev.data);
      if (String(v.messages) !== box.dataset.count || v.status !== box.dataset.status || String(v.position || '') !== String(box.dataset.position || '')) refresh();
    });
  }
  start();
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { if (stream) { stream.close(); stream = null; } } else if (!stream) start();
  });
})();
