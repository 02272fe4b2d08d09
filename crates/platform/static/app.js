// Progressive enhancement only: every action below also works as a plain form post.
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
