// The dashboard's entry point: sign-in with an API key, the three sections, and the live feed.

import { api, explain, session } from './api.js';
import { closeDetail, initDetail, openDetail } from './detail.js';
import { $ } from './dom.js';
import { applyEvent, applySnapshot, initFeed } from './feed.js';
import { followAlerts } from './stream.js';
import { showSystem } from './system.js';
import { showTopics } from './topics.js';

const VIEWS = ['alerts', 'topics', 'system'];
let follower;

const MODES = {
  live: '\u25CF Live',
  polling: '\u21BB Updating every second',
  reconnecting: '\u26A0 Reconnecting\u2026',
  stopped: '\u25A0 Stopped',
};

function setMode(mode, detail) {
  const conn = $('#conn');
  conn.textContent = MODES[mode] || mode;
  conn.dataset.mode = mode;
  conn.title = detail || '';
}

function showView(name) {
  for (const v of VIEWS) {
    $(`#view-${v}`).hidden = v !== name;
    const tab = document.querySelector(`#tabs [data-tab="${v}"]`);
    if (v === name) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  showSystem(name === 'system');
  if (name === 'topics') void showTopics();
  if (name !== 'alerts') closeDetail();
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
}

function signedIn() {
  $('#login').hidden = true;
  $('#tabs').hidden = false;
  $('#session').hidden = false;
  let first = true;
  follower = followAlerts({
    onSnapshot: (list) => {
      applySnapshot(list, { first });
      first = false;
    },
    onEvent: applyEvent,
    onMode: setMode,
  });
  const wanted = location.hash.slice(1);
  showView(VIEWS.includes(wanted) ? wanted : 'alerts');
  $('#main').focus();
}

function signOut(message) {
  follower?.stop();
  follower = undefined;
  session.key = null;
  showSystem(false);
  for (const v of VIEWS) $(`#view-${v}`).hidden = true;
  $('#tabs').hidden = true;
  $('#session').hidden = true;
  $('#login').hidden = false;
  $('#key-error').textContent = message || '';
  $('#key').value = '';
  $('#key').focus();
}

async function signIn(event) {
  event.preventDefault();
  const key = $('#key').value.trim();
  if (!key) {
    $('#key-error').textContent = 'Enter an API key.';
    $('#key').setAttribute('aria-invalid', 'true');
    return;
  }
  session.key = key;
  try {
    // Any key of any role may read the alert list: it tells whether the key is known.
    await api('/v1/alerts?limit=1');
    $('#key').removeAttribute('aria-invalid');
    $('#key-error').textContent = '';
    signedIn();
  } catch (err) {
    session.key = null;
    $('#key').setAttribute('aria-invalid', 'true');
    $('#key-error').textContent = err.status === 401 ? 'This key is not known to the server.' : explain(err, 'signing in');
  }
}

session.onUnauthorized = (message) => signOut(`Signed out: ${message}`);
$('#login-form').addEventListener('submit', signIn);
$('#signout').addEventListener('click', () => signOut('Signed out.'));
for (const tab of document.querySelectorAll('#tabs [data-tab]')) tab.addEventListener('click', () => showView(tab.dataset.tab));
initFeed({ openDetail });
initDetail();
if (session.key) signedIn();
