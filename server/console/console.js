/*
 * console.js — cos-server's web console. It is an ordinary browser page
 * using the official browser SDK (cos-js-sdk-v5) the way the seed's guide
 * tells a Mini Program to: ask the app's backend (here cos-server's /sts)
 * for a temporary key scoped to the bucket, then talk to the store
 * directly. Nothing here is privileged; the page can do exactly what its
 * keys allow.
 */
'use strict';

(function () {
  var cfg = null;
  var cosByBucket = {};        /* one SDK client per bucket, so each caches its own key */
  var state = { bucket: null, region: null, prefix: '' };
  var MiB = 1024 * 1024;

  function $(sel) { return document.querySelector(sel); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'class') e.className = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function status(msg, isError) {
    var s = $('#status');
    s.textContent = msg || '';
    s.className = isError ? 'error' : '';
  }
  function errText(err) {
    if (!err) return '';
    var e = err.error || err;
    var code = e.Code || e.code || '';
    var msg = e.Message || e.message || '';
    if (!code && !msg && err.statusCode === 0) return 'network error (is a CORS rule missing?)';
    return (code ? code + ': ' : '') + (msg || String(e));
  }
  function size(n) {
    n = Number(n);
    if (n < 1024) return n + ' B';
    var u = ['KiB', 'MiB', 'GiB', 'TiB'], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 1 : 0) + ' ' + u[i];
  }
  function when(iso) {
    var d = new Date(iso), p = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes());
  }
  function call(cos, method, params) {
    return new Promise(function (resolve, reject) {
      cos[method](params, function (err, data) { if (err) reject(err); else resolve(data); });
    });
  }

  /* ---------------------------------------------------------------- keys */

  /* What the guide's getAuthorization does: GET the backend with the
     bucket and region, hand the credentials to the SDK. */
  function fetchKey(query, callback) {
    fetch(cfg.stsUrl + '?' + query, { cache: 'no-store' })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        var data = res.j, c = data && data.credentials;
        if (!res.ok || !c) throw new Error((data && (data.error || data.message)) || '/sts gave no credentials');
        callback({
          TmpSecretId: c.tmpSecretId,
          TmpSecretKey: c.tmpSecretKey,
          SecurityToken: c.sessionToken,
          StartTime: data.startTime,
          ExpiredTime: data.expiredTime,
        });
      })
      .catch(function (e) {
        status('temporary key: ' + e.message, true);
        callback({ TmpSecretId: '', TmpSecretKey: '', SecurityToken: '', StartTime: 0, ExpiredTime: 0 });
      });
  }

  function newCos(getAuthorization) {
    return new COS({
      Protocol: cfg.protocol,
      Domain: cfg.domain,
      ServiceDomain: cfg.serviceDomain,
      getAuthorization: getAuthorization,
      SliceSize: 8 * MiB,          /* larger files go up in parts */
      ChunkSize: 4 * MiB,
      ChunkParallelLimit: 3,
      FileParallelLimit: 3,
      ProgressInterval: 100,
    });
  }

  function cosFor(bucket) {
    if (!cosByBucket[bucket]) {
      cosByBucket[bucket] = newCos(function (options, callback) {
        var q = new URLSearchParams({
          bucket: options.Bucket || bucket, region: options.Region || cfg.region,
          allowPrefix: '*', durationSeconds: '1800',
        });
        fetchKey(q.toString(), callback);
      });
    }
    return cosByBucket[bucket];
  }

  /* Listing buckets needs a key for GetService alone. */
  var serviceCos = null;
  function cosForService() {
    if (!serviceCos) {
      serviceCos = newCos(function (options, callback) {
        var policy = { version: '2.0', statement: [{ effect: 'allow', action: ['name/cos:GetService'], resource: ['*'] }] };
        fetchKey('policy=' + encodeURIComponent(JSON.stringify(policy)) + '&durationSeconds=1800', callback);
      });
    }
    return serviceCos;
  }

  /* ---------------------------------------------------------------- buckets */

  var knownBuckets = [];
  function renderBuckets() {
    var ul = $('#buckets');
    ul.textContent = '';
    knownBuckets.forEach(function (b) {
      var a = el('a', { href: '#' + encodeURIComponent(b.Name), 'data-bucket': b.Name,
                        onclick: function (ev) { ev.preventDefault(); openBucket(b.Name, b.Location); } }, b.Name);
      if (b.Name === state.bucket) a.className = 'current';
      a.appendChild(el('span', { class: 'region' }, b.Location || cfg.region));
      ul.appendChild(el('li')).appendChild(a);
    });
  }

  function loadBuckets() {
    return call(cosForService(), 'getService', {}).then(function (data) {
      knownBuckets = data.Buckets || [];
      renderBuckets();
    }).catch(function (err) {
      status('listing buckets: ' + errText(err) + ' (open one by name)', true);
    });
  }

  function remember(name, region) {
    if (!knownBuckets.some(function (b) { return b.Name === name; }))
      knownBuckets.push({ Name: name, Location: region });
  }

  function openBucket(name, region, prefix) {
    state.bucket = name;
    state.region = region || cfg.region;
    state.prefix = prefix || '';
    remember(name, state.region);
    renderBuckets();
    history.replaceState(null, '', '#' + encodeURIComponent(name) + (state.prefix ? '/' + encodeURIComponent(state.prefix) : ''));
    return list();
  }

  /* ---------------------------------------------------------------- objects */

  function crumbs() {
    var c = $('#crumbs');
    c.textContent = '';
    if (!state.bucket) { c.textContent = 'Pick a bucket'; return; }
    c.appendChild(el('a', { onclick: function () { go(''); } }, state.bucket));
    var acc = '';
    state.prefix.split('/').filter(Boolean).forEach(function (part) {
      acc += part + '/';
      var to = acc;
      c.appendChild(el('span', { class: 'sep' }, '/'));
      c.appendChild(el('a', { onclick: function () { go(to); } }, part));
    });
  }

  function go(prefix) { state.prefix = prefix; return openBucket(state.bucket, state.region, prefix); }

  function list() {
    crumbs();
    var tbody = $('#objects tbody');
    if (!state.bucket) return Promise.resolve();
    var cos = cosFor(state.bucket), folders = [], files = [];
    function page(marker) {
      return call(cos, 'getBucket', { Bucket: state.bucket, Region: state.region, Prefix: state.prefix,
                                     Delimiter: '/', Marker: marker, MaxKeys: 1000 })
        .then(function (data) {
          (data.CommonPrefixes || []).forEach(function (p) { folders.push(p.Prefix); });
          (data.Contents || []).forEach(function (o) { if (o.Key !== state.prefix) files.push(o); });
          if (data.IsTruncated === 'true') return page(data.NextMarker || files[files.length - 1].Key);
        });
    }
    status('listing…');
    return page('').then(function () {
      tbody.textContent = '';
      folders.forEach(function (p) {
        var tr = el('tr', { 'data-key': p });
        var a = el('a', { class: 'folder', onclick: function () { go(p); } }, p.slice(state.prefix.length));
        tr.appendChild(el('td', { class: 'name' })).appendChild(a);
        tr.appendChild(el('td', { class: 'num' }, ''));
        tr.appendChild(el('td', {}, ''));
        tr.appendChild(el('td', { class: 'actions' }));
        tbody.appendChild(tr);
      });
      files.forEach(function (o) {
        var tr = el('tr', { 'data-key': o.Key });
        tr.appendChild(el('td', { class: 'name' })).appendChild(
          el('a', { class: 'file', onclick: function () { showObject(o.Key); } }, o.Key.slice(state.prefix.length)));
        tr.appendChild(el('td', { class: 'num' }, size(o.Size)));
        tr.appendChild(el('td', { title: o.LastModified }, when(o.LastModified)));
        var act = tr.appendChild(el('td', { class: 'actions' }));
        act.appendChild(el('button', { 'data-action': 'download', onclick: function () { download(o.Key); } }, 'Download'));
        act.appendChild(el('button', { 'data-action': 'link', onclick: function () { link(o.Key); } }, 'Link'));
        act.appendChild(el('button', { 'data-action': 'info', onclick: function () { showObject(o.Key); } }, 'Info'));
        act.appendChild(el('button', { 'data-action': 'delete', class: 'danger', onclick: function () { remove(o.Key); } }, 'Delete'));
        tbody.appendChild(tr);
      });
      $('#empty').hidden = folders.length + files.length > 0;
      status(folders.length + ' folders, ' + files.length + ' objects');
    }).catch(function (err) { status(state.bucket + ': ' + errText(err), true); });
  }

  function signedUrl(key, query) {
    return call(cosFor(state.bucket), 'getObjectUrl', { Bucket: state.bucket, Region: state.region, Key: key,
                                                        Sign: true, Expires: 900, Query: query })
      .then(function (d) { return d.Url; });
  }

  /* A navigation to a presigned URL: the browser streams it to disk
     (Content-Disposition from response-content-disposition). */
  function download(key) {
    var name = key.split('/').pop() || 'download';
    return signedUrl(key, { 'response-content-disposition': "attachment; filename*=UTF-8''" + encodeURIComponent(name) })
      .then(function (url) {
        var a = el('a', { href: url, download: name });
        document.body.appendChild(a);
        a.click();
        a.remove();
      }).catch(function (err) { status('download: ' + errText(err), true); });
  }

  function link(key) {
    return signedUrl(key).then(function (url) {
      openDetails(key);
      $('#link-box').hidden = false;
      $('#link').value = url;
      $('#link').select();
      if (navigator.clipboard) navigator.clipboard.writeText(url).then(function () { status('link copied'); }, function () {});
      return showMeta(key);
    }).catch(function (err) { status('link: ' + errText(err), true); });
  }

  function remove(key) {
    if (!confirm('Delete ' + key + '?')) return Promise.resolve();
    return call(cosFor(state.bucket), 'deleteObject', { Bucket: state.bucket, Region: state.region, Key: key })
      .then(function () { status('deleted ' + key); $('#details').hidden = true; return list(); })
      .catch(function (err) { status('delete: ' + errText(err), true); });
  }

  /* ---------------------------------------------------------------- details */

  function openDetails(title) {
    $('#details').hidden = false;
    $('#details-title').textContent = title;
    $('#link-box').hidden = true;
    $('#details-body').textContent = 'loading…';
  }

  function dl(obj) {
    var d = el('dl');
    Object.keys(obj).sort().forEach(function (k) {
      d.appendChild(el('dt', {}, k));
      d.appendChild(el('dd', {}, String(obj[k])));
    });
    return d;
  }

  function showMeta(key) {
    return call(cosFor(state.bucket), 'headObject', { Bucket: state.bucket, Region: state.region, Key: key })
      .then(function (data) {
        var body = $('#details-body');
        body.textContent = '';
        body.appendChild(el('h3', {}, 'Metadata'));
        body.appendChild(dl(data.headers || {}));
      }).catch(function (err) { $('#details-body').textContent = errText(err); });
  }

  function showObject(key) { openDetails(key); return showMeta(key); }

  var CONFIGS = [
    ['Location', 'getBucketLocation'], ['CORS', 'getBucketCors'], ['ACL', 'getBucketAcl'],
    ['Versioning', 'getBucketVersioning'], ['Lifecycle', 'getBucketLifecycle'], ['Tagging', 'getBucketTagging'],
    ['Policy', 'getBucketPolicy'],
  ];
  function showBucketConfig() {
    if (!state.bucket) return;
    openDetails(state.bucket);
    var body = $('#details-body');
    var cos = cosFor(state.bucket);
    return Promise.all(CONFIGS.map(function (c) {
      return call(cos, c[1], { Bucket: state.bucket, Region: state.region }).then(function (data) {
        var shown = {};
        Object.keys(data).forEach(function (k) {
          if (k !== 'headers' && k !== 'statusCode' && k !== 'RequestId' && data[k] !== '') shown[k] = data[k];
        });
        return [c[0], JSON.stringify(shown, null, 2)];
      }, function (err) { return [c[0], errText(err)]; });
    })).then(function (rows) {
      body.textContent = '';
      rows.forEach(function (r) {
        body.appendChild(el('h3', {}, r[0]));
        body.appendChild(el('pre', { 'data-config': r[0] }, r[1]));
      });
    });
  }

  /* ---------------------------------------------------------------- uploads */

  function upload(files) {
    if (!state.bucket) { status('open a bucket first', true); return; }
    var bucket = state.bucket, region = state.region, prefix = state.prefix;
    var cos = cosFor(bucket);
    var box = $('#uploads');
    box.hidden = false;
    var pending = files.length;
    Array.prototype.forEach.call(files, function (file) {
      var key = prefix + file.name;
      var li = el('li', { 'data-upload': key });
      li.appendChild(el('span', { class: 'name' }, key));
      var bar = li.appendChild(el('div', { class: 'bar' })).appendChild(el('div'));
      bar.setAttribute('data-testid', 'progress');
      var pct = li.appendChild(el('span', { class: 'pct' }, '0%'));
      box.querySelector('ul').appendChild(li);
      cos.uploadFile({
        Bucket: bucket, Region: region, Key: key, Body: file,
        onProgress: function (p) {
          var percent = Math.floor((p.percent || 0) * 100);
          bar.style.width = percent + '%';
          bar.setAttribute('data-percent', String(percent));
          pct.textContent = percent + '%  ' + size(p.loaded) + ' / ' + size(p.total) +
            (p.speed ? '  ' + size(p.speed) + '/s' : '');
        },
      }, function (err) {
        li.className = err ? 'failed' : 'done';
        if (err) pct.textContent = errText(err);
        else { bar.style.width = '100%'; bar.setAttribute('data-percent', '100'); }
        if (--pending === 0 && bucket === state.bucket) list();
      });
    });
  }

  function wireDrop() {
    var drop = $('#drop'), depth = 0;
    drop.addEventListener('dragenter', function (e) { e.preventDefault(); depth++; drop.classList.add('over'); });
    drop.addEventListener('dragover', function (e) { e.preventDefault(); });
    drop.addEventListener('dragleave', function () { if (--depth <= 0) { depth = 0; drop.classList.remove('over'); } });
    drop.addEventListener('drop', function (e) {
      e.preventDefault();
      depth = 0;
      drop.classList.remove('over');
      if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files);
    });
  }

  /* ---------------------------------------------------------------- start */

  function start() {
    $('#endpoint').textContent = cfg.serviceDomain;
    $('#file-input').addEventListener('change', function (e) { upload(e.target.files); e.target.value = ''; });
    $('#refresh').addEventListener('click', function () { loadBuckets(); list(); });
    $('#bucket-config').addEventListener('click', showBucketConfig);
    $('#details-close').addEventListener('click', function () { $('#details').hidden = true; });
    $('#copy-link').addEventListener('click', function () {
      $('#link').select();
      if (navigator.clipboard) navigator.clipboard.writeText($('#link').value).then(function () { status('link copied'); });
    });
    $('#new-folder').addEventListener('click', function () {
      if (!state.bucket) return;
      var name = prompt('Folder name');
      if (!name) return;
      call(cosFor(state.bucket), 'putObject', { Bucket: state.bucket, Region: state.region,
                                                Key: state.prefix + name.replace(/\/+$/, '') + '/', Body: '' })
        .then(list, function (err) { status('new folder: ' + errText(err), true); });
    });
    $('#open-bucket').addEventListener('submit', function (e) {
      e.preventDefault();
      var name = $('#bucket-name').value.trim();
      if (name) openBucket(name, cfg.region);
    });
    $('#create-bucket').addEventListener('click', function () {
      var name = $('#bucket-name').value.trim();
      if (!name) { status('type a bucket name (name-' + cfg.appid + ')', true); return; }
      call(cosFor(name), 'putBucket', { Bucket: name, Region: cfg.region })
        .then(function () { return loadBuckets().then(function () { return openBucket(name, cfg.region); }); },
              function (err) { status('create: ' + errText(err), true); });
    });
    wireDrop();
    crumbs();
    var hash = '';
    try { hash = decodeURIComponent(location.hash.slice(1)); } catch (e) { /* a hand-edited address: start empty */ }
    loadBuckets().then(function () {
      if (hash) {
        var slash = hash.indexOf('/');
        var name = slash < 0 ? hash : hash.slice(0, slash);
        var b = knownBuckets.filter(function (x) { return x.Name === name; })[0];
        openBucket(name, b ? b.Location : cfg.region, slash < 0 ? '' : hash.slice(slash + 1));
      }
      document.body.setAttribute('data-ready', '1');
    });
  }

  fetch('config.json').then(function (r) { return r.json(); }).then(function (j) { cfg = j; start(); },
    function (e) { status('cannot load config.json: ' + e.message, true); });
})();
