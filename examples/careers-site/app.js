// The demo careers page: personalized blocks from GET /content?slots= (one call for the page),
// behaviour to POST /track.
//
// A visitor who comes from an email link carries t=<token> in the URL. The page keeps the
// token for this browser tab only (sessionStorage), removes it from the address bar (so that
// it is not bookmarked, shared or sent as a referrer) and sends it as
// `Authorization: Bearer <token>`. Without a token (or when the API says it is no longer
// valid) the page is anonymous and reports behaviour under an anonymous id.
(function () {
  "use strict";

  var config = window.TALENTOPS_CONFIG || {};
  var API = String(config.apiBase || "").replace(/\/+$/, "");
  var SLOTS = ["hero", "jobs", "events"];
  var TOKEN_KEY = "talentops.token";
  var ANONYMOUS_KEY = "talentops.anonymous_id";

  function takeToken() {
    var url = new URL(window.location.href);
    var fromLink = url.searchParams.get("t");
    if (fromLink) {
      try { window.sessionStorage.setItem(TOKEN_KEY, fromLink); } catch (e) { /* private mode */ }
      url.searchParams.delete("t");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
      return fromLink;
    }
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function forgetToken() {
    token = null;
    try { window.sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
  }

  function anonymousId() {
    var id = null;
    try { id = window.localStorage.getItem(ANONYMOUS_KEY); } catch (e) { /* ignore */ }
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      id = "web_" + Array.prototype.map.call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
      try { window.localStorage.setItem(ANONYMOUS_KEY, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  function headers(extra) {
    var h = extra || {};
    if (token) { h.Authorization = "Bearer " + token; }
    return h;
  }

  function notice(text) {
    var el = document.getElementById("notice");
    el.textContent = text;
    el.hidden = !text;
  }

  function pageUrl() {
    // Never the token: it was removed from the address bar already.
    return window.location.origin + window.location.pathname;
  }

  function fetchBlocks() {
    // One call for every block of the page: GET /content?slots=hero,jobs,events answers
    // {"slots": [...]}, each block as GET /content/{slot} would (html, and the same as data).
    var url = API + "/content?slots=" + encodeURIComponent(SLOTS.join(","));
    return fetch(url, { headers: headers() }).then(function (response) {
      return response.json().then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  // The data of the blocks shown (GET /content's `data`), by slot.
  var blockData = {};

  function showBlock(slot, block, error) {
    var section = document.querySelector('[data-slot="' + slot + '"]');
    section.setAttribute("aria-busy", "false");
    if (!block) {
      section.dataset.variant = "";
      section.dataset.error = error || "error";
      delete section.dataset.title;
      section.innerHTML = '<p class="placeholder">This part of the page is not available right now.</p>';
      return;
    }
    section.dataset.variant = block.variant;
    section.dataset.title = block.data.title;
    delete section.dataset.error;
    blockData[slot] = block.data;
    // The API renders blocks from reviewed templates with every value escaped; the page's
    // Content-Security-Policy keeps any script in them from running. A site with its own
    // design system would build its markup from block.data instead.
    section.innerHTML = block.html;
  }

  function loadSlots() {
    return fetchBlocks().then(function (answer) {
      if (answer.status === 401 && token) {
        // An expired or unknown link: show the general page rather than nothing.
        forgetToken();
        notice("Your link has expired, so this page is not personalized.");
        return loadSlots();
      }
      var blocks = {};
      if (answer.status === 200) {
        answer.body.slots.forEach(function (block) { blocks[block.slot] = block; });
      }
      var error = answer.body && answer.body.error ? answer.body.error.code : "error";
      SLOTS.forEach(function (slot) { showBlock(slot, blocks[slot], error); });
      return answer;
    });
  }

  function track(body) {
    if (!token) { body.anonymous_id = anonymousId(); }
    return fetch(API + "/track", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
      keepalive: true
    }).then(function (response) {
      return response.json().then(function (answer) {
        return { status: response.status, body: answer };
      });
    });
  }

  function jobOf(el) {
    // The job as the jobs block's data lists it; its data-job-* attributes otherwise.
    var listed = ((blockData.jobs || {}).jobs || []).filter(function (j) {
      return j.id === el.dataset.jobId;
    })[0];
    if (listed) {
      var fromData = { id: listed.id };
      ["title", "role_family", "seniority", "city", "url"].forEach(function (name) {
        if (listed[name]) { fromData[name] = listed[name]; }
      });
      return fromData;
    }
    var job = { id: el.dataset.jobId };
    var fields = { title: "jobTitle", role_family: "jobRoleFamily", seniority: "jobSeniority",
                   city: "jobCity", url: "jobUrl" };
    Object.keys(fields).forEach(function (name) {
      if (el.dataset[fields[name]]) { job[name] = el.dataset[fields[name]]; }
    });
    return job;
  }

  function openJob(job, meta) {
    var panel = document.getElementById("job-detail");
    var status = document.getElementById("track-status");
    document.getElementById("job-detail-title").textContent = job.title || job.id;
    document.getElementById("job-detail-meta").textContent = meta;
    var apply = document.getElementById("job-detail-apply");
    apply.href = /^https?:\/\//.test(job.url || "") ? job.url : "#jobs";
    status.textContent = "";
    delete status.dataset.eventId;
    panel.hidden = false;
    panel.dataset.jobId = job.id;
    track({ type: "job_viewed", job: job, url: pageUrl() }).then(function (answer) {
      if (answer.status === 202) {
        status.textContent = "Thanks: we'll use this to show you roles like it.";
        status.dataset.eventId = answer.body.event_id;
        status.dataset.detailType = answer.body.detail_type;
      } else {
        status.textContent = "";
        status.dataset.error = answer.body && answer.body.error ? answer.body.error.code : "error";
      }
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".to-job-link") : null;
    if (link) {
      var item = link.closest("[data-job-id]");
      if (item) {
        event.preventDefault();
        var meta = item.querySelector(".to-job-meta");
        openJob(jobOf(item), meta ? meta.textContent.trim() : "");
      }
      return;
    }
    if (event.target.id === "job-detail-close") {
      document.getElementById("job-detail").hidden = true;
    }
  });

  var token = takeToken();
  document.body.dataset.visitor = token ? "candidate" : "anonymous";

  loadSlots().then(function () {
    document.body.dataset.visitor = token ? "candidate" : "anonymous";
    document.getElementById("visitor").textContent = token
      ? "Personalized for you from your email link."
      : "You are browsing anonymously.";
    document.body.dataset.state = "ready";
    return track({ type: "page_viewed", url: pageUrl() });
  }).catch(function () {
    notice("The careers site could not reach its API.");
    document.body.dataset.state = "error";
  });
})();
