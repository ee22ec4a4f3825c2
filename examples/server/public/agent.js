/*
 * Kefu agent console: lists waiting and active conversations, joins them,
 * chats and leaves. Plain DOM, no build step. Speaks the agent half of the
 * live-chat protocol of @kefu/transport-ws on /ws.
 */
(() => {
  'use strict';

  const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
  const KEY = 'kefu:agent';
  const $ = (selector) => document.querySelector(selector);

  // The token lives in sessionStorage: it is a shared secret and should not
  // outlive the tab. Transcripts and seqs go there too, so a reload resumes.
  const saved = (() => {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || '{}');
    } catch {
      return {};
    }
  })();
  const state = {
    token: saved.token || null,
    name: saved.name || localStorage.getItem('kefu:agent:name') || '',
    me: null,
    /** sessionId → { id, messages: [], lastSeq, isJoined, waitingSince, preview, reason } */
    conversations: new Map((saved.conversations || []).map((c) => [c.id, c])),
    selected: saved.selected || null,
    waiting: [],
    status: 'offline',
  };

  function persist() {
    const mine = [...state.conversations.values()].filter((c) => c.isJoined);
    sessionStorage.setItem(
      KEY,
      JSON.stringify({
        token: state.token,
        name: state.name,
        selected: state.selected,
        conversations: mine.map((c) => ({ ...c, messages: c.messages.slice(-200) })),
      }),
    );
  }

  function conversation(id) {
    let c = state.conversations.get(id);
    if (!c) {
      c = { id, messages: [], lastSeq: 0, isJoined: false };
      state.conversations.set(id, c);
    }
    return c;
  }

  const shortId = (id) => `Visitor ${id.slice(0, 6)}`;
  const ago = (at) => {
    const s = Math.max(0, Math.round((Date.now() - at) / 1000));
    if (s < 60) return 'just now';
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h`;
  };
  const clock = (at) =>
    new Date(at || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  // ---- rendering ------------------------------------------------------------------------

  function renderLists() {
    const waitingList = $('.waiting-list');
    waitingList.textContent = '';
    const waiting = state.waiting.filter((w) => !w.agent);
    for (const w of waiting)
      waitingList.append(
        listItem(w.sessionId, w.preview || '(no message yet)', ago(w.since), w.reason),
      );
    $('.waiting-count').textContent = String(waiting.length);
    // A waiting count in the tab title catches the eye of an agent in another tab.
    document.title = `${waiting.length > 0 ? `(${waiting.length}) ` : ''}Kefu · Agent console`;
    $('.waiting-count').dataset.n = String(waiting.length);
    $('.waiting-empty').hidden = waiting.length > 0;

    const activeList = $('.active-list');
    activeList.textContent = '';
    const mine = [...state.conversations.values()].filter((c) => c.isJoined);
    for (const c of mine) {
      const last = c.messages.filter((m) => m.from !== 'notice').at(-1);
      activeList.append(listItem(c.id, last ? last.text : '', last ? clock(last.at) : ''));
    }
    $('.active-count').textContent = String(mine.length);
    $('.active-empty').hidden = mine.length > 0;
  }

  function listItem(id, preview, when, reason) {
    const li = document.createElement('li');
    li.className = `item${state.selected === id ? ' selected' : ''}`;
    li.dataset.sessionId = id;
    li.tabIndex = 0;
    const name = document.createElement('b');
    name.textContent = shortId(id);
    const time = document.createElement('span');
    time.className = 'when';
    time.textContent = when;
    const text = document.createElement('span');
    text.className = 'preview';
    text.textContent = preview;
    li.append(name, time, text);
    if (reason && reason !== 'visitor') {
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = reason;
      li.append(tag);
    }
    const open = () => select(id);
    li.addEventListener('click', open);
    li.addEventListener('keydown', (e) => e.key === 'Enter' && open());
    return li;
  }

  function renderChat() {
    const c = state.selected ? state.conversations.get(state.selected) : null;
    const waitingEntry = state.waiting.find((w) => w.sessionId === state.selected);
    $('.placeholder').hidden = Boolean(state.selected);
    $('.conversation').hidden = !state.selected;
    if (!state.selected) return;

    const isJoined = Boolean(c && c.isJoined);
    $('.chat-name').textContent = shortId(state.selected);
    $('.chat-state').textContent = isJoined
      ? 'You are answering · the bot is paused'
      : waitingEntry
        ? `Waiting for ${ago(waitingEntry.since)}${waitingEntry.preview ? ` · “${waitingEntry.preview}”` : ''}`
        : 'Not joined';
    $('.join').hidden = isJoined;
    $('.join').disabled = state.status !== 'online';
    $('.leave').hidden = !isJoined;
    const textarea = $('.composer textarea');
    textarea.disabled = !isJoined;
    textarea.placeholder = isJoined ? 'Reply to the visitor…' : 'Join the conversation to reply';
    $('.send').disabled = !isJoined || textarea.value.trim() === '';

    const log = $('.log');
    log.textContent = '';
    let previous = null;
    for (const m of c ? c.messages : []) {
      if (m.from === 'notice') {
        const el = document.createElement('div');
        el.className = 'notice';
        el.textContent = m.text;
        log.append(el);
        previous = null;
        continue;
      }
      const row = document.createElement('div');
      row.className = `row ${m.from}${m.pending ? ' pending' : ''}`;
      row.dataset.from = m.from;
      if (previous !== m.from) {
        const label = document.createElement('div');
        label.className = 'label';
        label.textContent = `${m.from === 'visitor' ? 'Visitor' : m.from === 'bot' ? 'Bot' : m.agentName || 'You'} · ${clock(m.at)}`;
        row.append(label);
      }
      const bubble = document.createElement('div');
      bubble.className = 'bubble';
      bubble.textContent = m.text;
      row.append(bubble);
      log.append(row);
      previous = m.from;
    }
    log.scrollTop = log.scrollHeight;
  }

  function render() {
    renderLists();
    renderChat();
    $('.app').dataset.view = state.selected ? 'chat' : 'list';
  }

  function setStatus(status, text) {
    state.status = status;
    $('.conn').dataset.state = status;
    $('.conn-text').textContent = text;
    render();
  }

  function select(id) {
    state.selected = id;
    persist();
    render();
    if (id && !state.conversations.get(id)?.isJoined) loadPreview(id);
  }

  /** Shows a conversation before joining it, from the engine's history. */
  async function loadPreview(id) {
    try {
      const res = await fetch(`/api/conversations/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${state.token}` },
      });
      if (!res.ok) return;
      const body = await res.json();
      const c = conversation(id);
      if (c.isJoined) return;
      c.messages = body.history.map((h) => ({ from: h.from, text: h.text, at: h.at }));
      if (state.selected === id) render();
    } catch {
      // A preview is a convenience: joining still brings the history.
    }
  }

  // ---- connection -----------------------------------------------------------------------

  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let isRefused = false;

  function connect() {
    clearTimeout(retryTimer);
    if (!state.token || (socket && socket.readyState <= 1)) return;
    isRefused = false;
    setStatus('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    const ws = new WebSocket(wsUrl);
    socket = ws;
    ws.onopen = () =>
      ws.send(
        JSON.stringify({ type: 'hello', role: 'agent', token: state.token, name: state.name }),
      );
    ws.onmessage = (event) => {
      try {
        onFrame(JSON.parse(event.data));
      } catch (err) {
        console.error('kefu: bad frame', err);
      }
    };
    ws.onclose = () => dropped(ws);
    ws.onerror = () => ws.close();
  }

  function dropped(ws) {
    if (socket !== ws) return;
    socket = null;
    clearTimeout(pongTimer);
    if (isRefused) return;
    // Jittered back-off, so that a server restart is not met by every console at once.
    const delay = Math.round(Math.random() * Math.min(15000, 500 * 2 ** attempt)) + 250;
    attempt += 1;
    setStatus('offline', 'Offline · reconnecting');
    retryTimer = setTimeout(connect, delay);
  }

  // A silent network is only noticed by asking: ping, and drop a socket that does not answer.
  let pongTimer = null;
  setInterval(() => {
    const ws = socket;
    if (!ws || ws.readyState !== 1 || state.status !== 'online') return;
    ws.send('{"type":"ping"}');
    clearTimeout(pongTimer);
    pongTimer = setTimeout(() => {
      ws.close();
      dropped(ws);
    }, 10000);
  }, 25000);

  function send(frame) {
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        if (frame.role !== 'agent') return;
        attempt = 0;
        state.me = frame.agent;
        state.waiting = frame.queue || [];
        $('.login').hidden = true;
        $('.signout').hidden = false;
        $('.me-name').textContent = frame.agent?.name || state.name;
        setStatus('online', 'Online');
        // Conversations we had before a reload or a dropped connection: take them back.
        for (const c of state.conversations.values())
          if (c.isJoined) send({ type: 'join', sessionId: c.id });
        break;
      case 'queue':
        state.waiting = frame.sessions || [];
        render();
        break;
      case 'joined': {
        const c = conversation(frame.sessionId);
        const wasJoined = c.isJoined;
        c.isJoined = true;
        if (Array.isArray(frame.history)) {
          // On a first join the history is the whole transcript; on a re-join
          // (reload, dropped connection) it fills in what the visitor and the
          // bot said while we were away. Our own replies we already have.
          const seen = c.messages.filter((m) => m.from === 'visitor' || m.from === 'bot');
          const lastAt = seen.reduce((max, m) => Math.max(max, m.at || 0), 0);
          for (const h of frame.history) {
            if (h.at > lastAt && (c.messages.length === 0 || h.from !== 'agent')) {
              c.messages.push({ from: h.from, text: h.text, at: h.at });
            }
          }
        }
        if (!wasJoined)
          c.messages.push({ from: 'notice', text: 'You joined the conversation', at: Date.now() });
        c.lastSeq = Math.max(c.lastSeq, frame.seq || 0);
        // Replies typed while offline go out now, with their ids (the server drops repeats).
        for (const m of c.messages) {
          if (m.pending && m.from === 'agent')
            send({ type: 'message', id: m.id, sessionId: c.id, text: m.text });
        }
        persist();
        render();
        break;
      }
      case 'left': {
        const c = conversation(frame.sessionId);
        c.isJoined = false;
        c.messages.push({
          from: 'notice',
          text: 'You left · the bot answers again',
          at: Date.now(),
        });
        persist();
        render();
        break;
      }
      case 'message':
      case 'agent.joined':
      case 'agent.left':
      case 'waiting':
        onSessionFrame(frame);
        break;
      case 'ack': {
        const c = frame.sessionId && state.conversations.get(frame.sessionId);
        const m = c && c.messages.find((x) => x.pending && x.id === frame.id);
        if (m) {
          m.pending = false;
          m.seq = frame.seq;
          c.lastSeq = Math.max(c.lastSeq, frame.seq);
          persist();
          render();
        }
        break;
      }
      case 'typing':
        if (frame.sessionId === state.selected && frame.from === 'visitor')
          showTyping(frame.isTyping !== false);
        break;
      case 'error':
        onError(frame);
        break;
      case 'pong':
        clearTimeout(pongTimer);
        break;
      default:
        break;
    }
  }

  function onSessionFrame(frame) {
    if (!frame.sessionId) return;
    const c = conversation(frame.sessionId);
    if (typeof frame.seq === 'number') {
      if (c.messages.some((m) => m.seq === frame.seq)) return;
      c.lastSeq = Math.max(c.lastSeq, frame.seq);
    }
    if (frame.type === 'message') {
      if (frame.from === 'visitor') showTyping(false);
      c.messages.push({
        from: frame.from,
        text: frame.text,
        at: frame.at,
        seq: frame.seq,
        agentName: frame.agent?.name,
      });
    } else if (frame.type === 'agent.joined' && frame.agent?.id !== state.me?.id) {
      c.messages.push({
        from: 'notice',
        text: `${frame.agent?.name || 'Another agent'} joined`,
        seq: frame.seq,
      });
    }
    persist();
    render();
  }

  let typingTimer = null;
  function showTyping(isOn) {
    $('.typing').hidden = !isOn;
    clearTimeout(typingTimer);
    if (isOn) typingTimer = setTimeout(() => ($('.typing').hidden = true), 6000);
  }

  function onError(frame) {
    if (frame.code === 'TRANSPORT_WS_UNAUTHORIZED' && !state.me) {
      isRefused = true;
      state.token = null;
      persist();
      showLogin('That token was refused. Check KEFU_AGENT_TOKEN.');
      setStatus('offline', 'Signed out');
      socket?.close();
      return;
    }
    if (
      frame.code === 'TRANSPORT_WS_SESSION_NOT_FOUND' ||
      frame.code === 'TRANSPORT_WS_SESSION_TAKEN'
    ) {
      // The conversation ended or someone else has it: drop it from our list.
      for (const c of state.conversations.values()) {
        if (c.isJoined && c.id === state.selected) c.isJoined = false;
      }
    }
    const notice =
      frame.code === 'TRANSPORT_WS_SESSION_TAKEN'
        ? 'Another agent already has this conversation.'
        : frame.message;
    const c = state.selected && state.conversations.get(state.selected);
    if (c && notice) c.messages.push({ from: 'notice', text: notice, at: Date.now() });
    persist();
    render();
  }

  // ---- actions --------------------------------------------------------------------------

  function showLogin(error) {
    $('.login').hidden = false;
    const form = $('.login-card');
    form.name.value = state.name;
    const el = $('.login-error');
    el.hidden = !error;
    el.textContent = error || '';
    (state.name ? form.token : form.name).focus();
  }

  $('.login-card').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    state.name = form.name.value.trim();
    state.token = form.token.value;
    localStorage.setItem('kefu:agent:name', state.name);
    persist();
    attempt = 0;
    connect();
  });

  $('.signout').addEventListener('click', () => {
    for (const c of state.conversations.values())
      if (c.isJoined) send({ type: 'leave', sessionId: c.id });
    state.token = null;
    state.conversations.clear();
    state.selected = null;
    isRefused = true;
    persist();
    socket?.close();
    $('.signout').hidden = true;
    setStatus('offline', 'Signed out');
    showLogin();
  });

  $('.join').addEventListener('click', () => {
    if (state.selected) send({ type: 'join', sessionId: state.selected });
  });
  $('.leave').addEventListener('click', () => {
    if (state.selected) send({ type: 'leave', sessionId: state.selected });
  });
  $('.back').addEventListener('click', () => select(null));

  const textarea = $('.composer textarea');
  let lastTyping = 0;
  textarea.addEventListener('input', () => {
    $('.send').disabled = textarea.value.trim() === '';
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(140, textarea.scrollHeight)}px`;
    if (state.selected && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      send({ type: 'typing', sessionId: state.selected, isTyping: true });
    }
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('.composer').requestSubmit();
    }
  });
  $('.composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    const c = state.selected && state.conversations.get(state.selected);
    if (!text || !c || !c.isJoined) return;
    const id = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
    c.messages.push({ from: 'agent', text, id, pending: true, at: Date.now(), agentName: 'You' });
    send({ type: 'message', id, sessionId: c.id, text });
    textarea.value = '';
    textarea.style.height = '';
    persist();
    render();
  });

  // Waiting times in the list age while nobody touches anything.
  setInterval(renderLists, 30000);

  render();
  if (state.token) connect();
  else showLogin();
})();
