/*
 * Kefu chat widget: one script a host drops into any page.
 *
 *   <script src="https://chat.example.com/widget.js"
 *           data-server="https://chat.example.com" defer></script>
 *
 * Options (data attributes on the script tag):
 *   data-server   where the Kefu server runs; defaults to the script's origin
 *   data-title    header title; default "Kefu 客服"
 *   data-open     "true" opens the panel on load
 *   data-storage  "local" (default, survives closing the tab) or "session"
 *
 * No framework and no build step: plain DOM in a shadow root, so the host's
 * styles cannot leak in and ours cannot leak out.
 */
(() => {
  'use strict';

  const script = document.currentScript;
  const attr = (name, fallback) => script?.getAttribute(`data-${name}`) ?? fallback;
  const scriptOrigin = script?.src ? new URL(script.src, location.href).origin : location.origin;
  const server = new URL(attr('server', scriptOrigin), location.href);
  const base = server.pathname.replace(/\/+$/, '');
  const wsUrl = `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}${base}/ws`;
  const title = attr('title', 'Kefu 客服');
  const store = attr('storage', 'local') === 'session' ? sessionStorage : localStorage;
  const storeKey = `kefu:widget:${server.host}`;
  // Known limit: only the last 200 messages are kept in storage, so a very
  // long conversation shows its tail after a reload.
  const MAX_KEPT = 200;

  const hasCjk = (text) => /[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/.test(text);
  const zhUi = (navigator.language || '').startsWith('zh');
  // The widget's own words follow the browser, or the visitor once they write Chinese.
  const t = (en, zh) => (zhUi || writesChinese() ? zh : en);
  function writesChinese() {
    for (let i = state.messages.length - 1; i >= 0; i -= 1) {
      if (state.messages[i].from === 'visitor') return hasCjk(state.messages[i].text);
    }
    return false;
  }

  // ---- state kept across reloads -------------------------------------------------------

  const saved = (() => {
    try {
      return JSON.parse(store.getItem(storeKey) || '{}');
    } catch {
      return {};
    }
  })();
  const state = {
    token: saved.token || null,
    sessionId: saved.sessionId || null,
    lastSeq: saved.lastSeq || 0,
    /** Messages with a seq, in order, plus unsent ones (`pending: true`). */
    messages: Array.isArray(saved.messages) ? saved.messages : [],
    agent: saved.agent || null,
    isOpen: saved.isOpen ?? attr('open', 'false') === 'true',
    status: 'connecting',
    unread: 0,
  };

  function persist() {
    state.messages = state.messages.slice(-MAX_KEPT);
    store.setItem(
      storeKey,
      JSON.stringify({
        token: state.token,
        sessionId: state.sessionId,
        lastSeq: state.lastSeq,
        messages: state.messages,
        agent: state.agent,
        isOpen: state.isOpen,
      }),
    );
  }

  // ---- DOM ------------------------------------------------------------------------------

  const host = document.createElement('div');
  host.id = 'kefu-widget';
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `
<style>
  :host { all: initial; }
  * { box-sizing: border-box; }
  .kf { --accent: #0f766e; --accent-ink: #fff; --ink: #1f2933; --muted: #6b7785;
    --line: #e4e8ec; --bg: #fff; --soft: #f3f5f7; --agent: #7c3aed;
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC",
      "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
    color: var(--ink); position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; }
  .launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;
    background: var(--accent); color: var(--accent-ink); display: grid; place-items: center;
    box-shadow: 0 6px 20px rgba(15, 118, 110, .35); transition: transform .15s ease; position: relative; }
  .launcher:hover { transform: translateY(-2px); }
  .launcher svg { width: 26px; height: 26px; }
  .badge { position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 6px;
    border-radius: 10px; background: #e11d48; color: #fff; font-size: 12px; font-weight: 600;
    display: none; align-items: center; justify-content: center; }
  .badge.on { display: flex; }
  .panel { position: absolute; right: 0; bottom: 72px; width: 370px; height: min(600px, calc(100vh - 110px));
    background: var(--bg); border-radius: 16px; overflow: hidden; display: none; flex-direction: column;
    box-shadow: 0 12px 48px rgba(15, 23, 42, .22), 0 0 0 1px rgba(15, 23, 42, .06); }
  .kf.open .panel { display: flex; }
  header { background: var(--accent); color: var(--accent-ink); padding: 14px 16px;
    display: flex; align-items: center; gap: 12px; }
  .avatar { width: 36px; height: 36px; border-radius: 50%; background: rgba(255,255,255,.18);
    display: grid; place-items: center; flex: none; }
  .avatar svg { width: 20px; height: 20px; }
  .who { flex: 1; min-width: 0; }
  .who b { display: block; font-size: 15px; font-weight: 600; }
  .status { font-size: 12px; opacity: .9; display: flex; align-items: center; gap: 6px; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: #fbbf24; flex: none; }
  .status[data-state="online"] .dot { background: #4ade80; }
  .status[data-state="agent"] .dot { background: #c4b5fd; }
  .status[data-state="offline"] .dot { background: #f87171; }
  .close { background: transparent; border: 0; color: inherit; cursor: pointer; padding: 6px;
    border-radius: 8px; font-size: 20px; line-height: 1; }
  .close:hover { background: rgba(255,255,255,.15); }
  .banner { display: none; padding: 8px 14px; font-size: 12.5px; background: #fff7ed; color: #9a3412;
    border-bottom: 1px solid #fed7aa; }
  .banner.on { display: block; }
  .log { flex: 1; overflow-y: auto; padding: 16px 14px 8px; background: var(--soft);
    display: flex; flex-direction: column; gap: 6px; }
  .row { display: flex; flex-direction: column; max-width: 82%; }
  .row.visitor { align-self: flex-end; align-items: flex-end; }
  .row.bot, .row.agent { align-self: flex-start; }
  .label { font-size: 11.5px; color: var(--muted); margin: 6px 4px 2px; }
  .bubble { padding: 9px 13px; border-radius: 16px; white-space: pre-wrap; word-wrap: break-word;
    overflow-wrap: anywhere; }
  .visitor .bubble { background: var(--accent); color: var(--accent-ink); border-bottom-right-radius: 5px; }
  .bot .bubble { background: var(--bg); border: 1px solid var(--line); border-bottom-left-radius: 5px; }
  .agent .bubble { background: #f5f3ff; border: 1px solid #ddd6fe; border-bottom-left-radius: 5px; }
  .pending .bubble { opacity: .6; }
  .meta { font-size: 11px; color: var(--muted); margin: 2px 4px 0; }
  .notice { align-self: center; font-size: 12px; color: var(--muted); background: var(--bg);
    border: 1px solid var(--line); border-radius: 999px; padding: 3px 12px; margin: 8px 0; }
  .notice.agent { color: var(--agent); border-color: #ddd6fe; background: #faf5ff; }
  .chips { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
  .chip { border: 1px solid var(--accent); color: var(--accent); background: var(--bg);
    border-radius: 999px; padding: 5px 11px; font: inherit; font-size: 13px; cursor: pointer; }
  .chip:hover { background: #f0fdfa; }
  .typing { align-self: flex-start; display: none; gap: 4px; padding: 11px 14px; background: var(--bg);
    border: 1px solid var(--line); border-radius: 16px; border-bottom-left-radius: 5px; }
  .typing.on { display: flex; }
  .typing i { width: 6px; height: 6px; border-radius: 50%; background: #9aa5b1;
    animation: kf-bounce 1.2s infinite ease-in-out; }
  .typing i:nth-child(2) { animation-delay: .15s; } .typing i:nth-child(3) { animation-delay: .3s; }
  @keyframes kf-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5 } 30% { transform: translateY(-4px); opacity: 1 } }
  form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid var(--line); background: var(--bg); }
  textarea { flex: 1; resize: none; border: 1px solid var(--line); border-radius: 12px; padding: 9px 12px;
    font: inherit; color: inherit; max-height: 120px; min-height: 40px; outline: none; }
  textarea:focus { border-color: var(--accent); box-shadow: 0 0 0 3px rgba(15, 118, 110, .12); }
  .send { border: 0; border-radius: 12px; background: var(--accent); color: var(--accent-ink);
    padding: 0 16px; font: inherit; font-weight: 600; cursor: pointer; }
  .send:disabled { opacity: .45; cursor: default; }
  .foot { text-align: center; font-size: 11px; color: var(--muted); padding: 0 0 8px; background: var(--bg); }
  @media (max-width: 480px) {
    .kf { right: 14px; bottom: 14px; }
    .kf.open .launcher { display: none; }
    .panel { position: fixed; inset: 0; width: 100vw; height: 100%; border-radius: 0; bottom: 0; }
  }
  @media (prefers-reduced-motion: reduce) { .typing i { animation: none; } }
</style>
<div class="kf" part="widget">
  <section class="panel" role="dialog">
    <header>
      <div class="avatar" aria-hidden="true"><svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M4 14v-2a8 8 0 0 1 16 0v2"/><rect x="3" y="14" width="4" height="6" rx="1.5"/><rect x="17" y="14" width="4" height="6" rx="1.5"/><path d="M19 20a3 3 0 0 1-3 2h-3"/></svg></div>
      <div class="who"><b></b><div class="status" data-state="connecting" aria-live="polite"><span class="dot"></span><span class="status-text"></span></div></div>
      <button class="close" type="button" aria-label="${t('Close chat', '关闭')}">×</button>
    </header>
    <div class="banner" role="status"></div>
    <div class="log" role="log" aria-live="polite"></div>
    <form>
      <textarea rows="1" placeholder="${t('Type a message…', '输入消息…')}" aria-label="${t('Message', '消息')}"></textarea>
      <button class="send" type="submit">${t('Send', '发送')}</button>
    </form>
    <div class="foot">Powered by Kefu</div>
  </section>
  <button class="launcher" type="button" aria-label="${t('Open chat', '打开聊天')}">
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>
    <span class="badge"></span>
  </button>
</div>`;
  const $ = (selector) => root.querySelector(selector);
  const shell = $('.kf');
  const log = $('.log');
  const input = $('textarea');
  const sendButton = $('.send');
  const banner = $('.banner');
  const typing = document.createElement('div');
  typing.className = 'typing';
  typing.innerHTML = '<i></i><i></i><i></i>';
  $('.who b').textContent = title;
  $('.panel').setAttribute('aria-label', title);

  // ---- rendering ------------------------------------------------------------------------

  function fmtTime(at) {
    return new Date(at || Date.now()).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
    });
  }

  function render() {
    log.textContent = '';
    let previousFrom = null;
    const last = state.messages[state.messages.length - 1];

    if (state.messages.length === 0) {
      appendRow(
        {
          from: 'bot',
          text: t(
            'Hi! Ask me about orders, refunds, shipping or opening hours.',
            '您好！可以问我订单、退款、配送或营业时间。',
          ),
          at: Date.now(),
        },
        true,
      );
    }
    for (const m of state.messages) {
      if (m.from === 'notice') {
        const el = document.createElement('div');
        el.className = `notice ${m.kind || ''}`;
        el.textContent = m.text;
        log.append(el);
        previousFrom = null;
        continue;
      }
      appendRow(m, previousFrom !== m.from, m === last);
      previousFrom = m.from;
    }
    log.append(typing);
    log.scrollTop = log.scrollHeight;
    // The widget's words follow the conversation's language.
    setStatus(state.status);
    input.placeholder = t('Type a message…', '输入消息…');
    sendButton.textContent = t('Send', '发送');
  }

  function appendRow(m, withLabel, isLast) {
    const row = document.createElement('div');
    row.className = `row ${m.from}${m.pending ? ' pending' : ''}`;
    row.dataset.from = m.from;
    if (withLabel && m.from !== 'visitor') {
      const label = document.createElement('div');
      label.className = 'label';
      label.textContent =
        m.from === 'agent' ? m.agentName || t('Agent', '客服') : t('Assistant', '智能助手');
      row.append(label);
    }
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    bubble.textContent = m.text;
    row.append(bubble);
    if (m.from === 'visitor') {
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = m.pending ? t('Sending…', '发送中…') : fmtTime(m.at);
      row.append(meta);
    }
    const options =
      isLast && Array.isArray(m.quickReplies) ? m.quickReplies.map((text) => ({ text })) : [];
    if (isLast && m.intent === 'oos' && !state.agent && !state.isWaiting) {
      // The bot did not understand: offer a person straight away.
      options.push({
        text: hasCjk(m.text) ? '转人工' : t('Talk to a human', '转人工'),
        handoff: true,
      });
    }
    if (options.length > 0) {
      const chips = document.createElement('div');
      chips.className = 'chips';
      for (const option of options) {
        const chip = document.createElement('button');
        chip.type = 'button';
        chip.className = 'chip';
        chip.textContent = option.text;
        chip.addEventListener('click', () =>
          option.handoff
            ? sendFrame({ type: 'handoff', reason: 'visitor' })
            : sendText(option.text),
        );
        chips.append(chip);
      }
      row.append(chips);
    }
    log.append(row);
  }

  function setStatus(status) {
    state.status = status;
    const el = $('.status');
    const text = {
      connecting: t('Connecting…', '连接中…'),
      online: t('Online · replies instantly', '在线 · 即时回复'),
      agent: state.agent
        ? `${state.agent} ${t('joined', '已接入')}`
        : t('Agent joined', '人工客服已接入'),
      offline: t('Offline · reconnecting', '离线 · 正在重连'),
    }[status];
    el.dataset.state = status;
    el.querySelector('.status-text').textContent = text;
    banner.classList.toggle('on', status === 'offline');
    banner.textContent = t(
      'Connection lost. Your messages will be sent when we are back.',
      '连接已断开，恢复后将自动发送您的消息。',
    );
  }

  function setTyping(isOn) {
    typing.classList.toggle('on', isOn);
    if (isOn) log.scrollTop = log.scrollHeight;
  }

  function setOpen(isOpen) {
    state.isOpen = isOpen;
    shell.classList.toggle('open', isOpen);
    if (isOpen) {
      state.unread = 0;
      updateBadge();
      log.scrollTop = log.scrollHeight;
      setTimeout(() => input.focus(), 0);
    }
    persist();
  }

  function updateBadge() {
    const badge = $('.badge');
    badge.textContent = String(state.unread);
    badge.classList.toggle('on', state.unread > 0 && !state.isOpen);
  }

  // ---- connection -----------------------------------------------------------------------

  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let botTypingTimer = null;
  let isWelcomed = false;

  function connect() {
    clearTimeout(retryTimer);
    if (socket && socket.readyState <= 1) return;
    setStatus(attempt === 0 ? 'connecting' : 'offline');
    isWelcomed = false;
    const ws = new WebSocket(wsUrl);
    socket = ws;
    ws.onopen = () => {
      const hello = { type: 'hello', role: 'visitor' };
      if (state.token) Object.assign(hello, { token: state.token, lastSeq: state.lastSeq });
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onFrame(frame);
    };
    ws.onclose = () => dropped(ws);
    ws.onerror = () => ws.close();
  }

  function dropped(ws) {
    if (socket !== ws) return;
    socket = null;
    clearTimeout(pongTimer);
    setTyping(false);
    scheduleReconnect();
  }

  // Browsers answer the server's pings but tell the page nothing, so a dead
  // network (a laptop waking up) would go unnoticed for minutes: ping from
  // here too, and give up on a socket that stays silent.
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  let pongTimer = null;
  setInterval(() => {
    const ws = socket;
    if (!ws || ws.readyState !== 1 || !isWelcomed) return;
    ws.send('{"type":"ping"}');
    clearTimeout(pongTimer);
    pongTimer = setTimeout(() => {
      ws.close();
      dropped(ws);
    }, PONG_WITHIN_MS);
  }, PING_EVERY_MS);

  function scheduleReconnect() {
    // Full jitter: a restart of the server must not bring every visitor back at once.
    const cap = Math.min(15000, 500 * 2 ** attempt);
    const delay = Math.round(Math.random() * cap) + 250;
    attempt += 1;
    setStatus('offline');
    retryTimer = setTimeout(connect, delay);
  }

  function sendFrame(frame) {
    if (!socket || socket.readyState !== 1 || !isWelcomed) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'welcome': {
        if (state.sessionId && frame.sessionId !== state.sessionId) startOver();
        state.sessionId = frame.sessionId;
        state.token = frame.token;
        state.isWaiting = frame.waiting === true;
        state.agent = frame.agent ? frame.agent.name || t('Agent', '客服') : null;
        if (frame.missed > 0) {
          state.messages.push({
            from: 'notice',
            text: t('Some earlier messages could not be restored.', '部分较早的消息无法恢复。'),
          });
        }
        isWelcomed = true;
        attempt = 0;
        setStatus(state.agent ? 'agent' : 'online');
        persist();
        flushPending();
        render();
        break;
      }
      case 'ack': {
        const m = state.messages.find((x) => x.pending && x.id === frame.id);
        if (m) {
          m.pending = false;
          m.seq = frame.seq;
          // A duplicate's answer, if any, came with the replay already.
          if (!state.agent && frame.duplicate !== true) startBotTyping();
        }
        noteSeq(frame.seq);
        persist();
        render();
        break;
      }
      case 'message':
        onMessage(frame);
        break;
      case 'typing':
        if (frame.from !== 'visitor') setTyping(frame.isTyping !== false);
        break;
      case 'agent.joined':
      case 'agent.left':
      case 'waiting':
        onNotice(frame);
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

  function noteSeq(seq) {
    if (typeof seq === 'number' && seq > state.lastSeq) state.lastSeq = seq;
  }

  function onMessage(frame) {
    if (typeof frame.seq === 'number' && state.messages.some((m) => m.seq === frame.seq)) return;
    noteSeq(frame.seq);
    if (frame.from === 'visitor') {
      // Our own message echoed (another tab, or a replay after reconnecting).
      const mine = frame.id && state.messages.find((m) => m.id === frame.id);
      if (mine) {
        mine.pending = false;
        mine.seq = frame.seq;
      } else {
        state.messages.push({
          from: 'visitor',
          text: frame.text,
          seq: frame.seq,
          id: frame.id,
          at: frame.at,
        });
      }
    } else {
      clearTimeout(botTypingTimer);
      setTyping(false);
      if (frame.from === 'agent' && frame.agent) state.agent = frame.agent.name || state.agent;
      state.messages.push({
        from: frame.from === 'agent' ? 'agent' : frame.from === 'system' ? 'notice' : 'bot',
        text: frame.text,
        seq: frame.seq,
        at: frame.at,
        quickReplies: frame.quickReplies,
        intent: frame.intent,
        agentName: frame.agent?.name,
      });
      if (!state.isOpen) {
        state.unread += 1;
        updateBadge();
      }
    }
    persist();
    render();
  }

  function onNotice(frame) {
    noteSeq(frame.seq);
    if (typeof frame.seq === 'number' && state.messages.some((m) => m.seq === frame.seq)) return;
    const name = frame.agent?.name || t('An agent', '人工客服');
    if (frame.type === 'agent.joined') {
      state.agent = name;
      state.isWaiting = false;
      state.messages.push({
        from: 'notice',
        kind: 'agent',
        seq: frame.seq,
        text: t(`${name} joined the chat`, `${name} 已接入对话`),
      });
      setStatus('agent');
    } else if (frame.type === 'agent.left') {
      state.agent = null;
      state.messages.push({
        from: 'notice',
        seq: frame.seq,
        text: t(`${name} left · the assistant is back`, `${name} 已离开，智能助手继续为您服务`),
      });
      setStatus('online');
    } else if (frame.type === 'waiting') {
      state.isWaiting = true;
      state.messages.push({
        from: 'notice',
        seq: frame.seq,
        text: t('Waiting for an agent…', '正在等待人工客服…'),
      });
    } else if (frame.text) {
      state.messages.push({ from: 'notice', seq: frame.seq, text: frame.text });
    }
    persist();
    render();
  }

  /**
   * Keeps the old transcript on screen but forgets its seqs (a new session
   * numbers from 1 again), marks where the new conversation begins, and
   * keeps unsent messages for it.
   */
  function startOver() {
    const sent = state.messages.filter((m) => !m.pending).map(({ seq, ...m }) => m);
    const unsent = state.messages.filter((m) => m.pending);

    state.token = null;
    state.sessionId = null;
    state.lastSeq = 0;
    state.agent = null;
    state.isWaiting = false;
    state.messages = sent;
    if (sent.length > 0) {
      state.messages.push({ from: 'notice', text: t('New conversation', '新的对话') });
    }
    state.messages.push(...unsent);
  }

  function onError(frame) {
    if (
      frame.code === 'TRANSPORT_WS_TOKEN_INVALID' ||
      frame.code === 'TRANSPORT_WS_SESSION_NOT_FOUND'
    ) {
      // The server forgot us (a restart with a new secret, an expired
      // token): start a new conversation below the old transcript. It is
      // up and answering, so come back after the shortest back-off, not
      // after the long one the outage built up.
      attempt = 0;
      startOver();
      persist();
      render();
      socket?.close();
      return;
    }
    if (frame.id) {
      const m = state.messages.find((x) => x.id === frame.id);
      if (m) {
        m.pending = false;
        m.failed = true;
        state.messages.push({
          from: 'notice',
          text: t('That message could not be sent.', '该消息发送失败。'),
        });
        persist();
        render();
      }
    }
  }

  function startBotTyping() {
    setTyping(true);
    clearTimeout(botTypingTimer);
    botTypingTimer = setTimeout(() => setTyping(false), 8000);
  }

  function flushPending() {
    for (const m of state.messages) {
      if (m.pending) sendFrame({ type: 'message', id: m.id, text: m.text });
    }
  }

  function newId() {
    return crypto.randomUUID
      ? crypto.randomUUID()
      : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  }

  function sendText(text) {
    const trimmed = text.trim();
    if (!trimmed) return;
    const m = { from: 'visitor', text: trimmed, id: newId(), pending: true, at: Date.now() };
    state.messages.push(m);
    persist();
    render();
    // Unsent messages stay pending and go out, with the same id, once we are back.
    sendFrame({ type: 'message', id: m.id, text: m.text });
  }

  // ---- wiring ---------------------------------------------------------------------------

  let lastTypingSent = 0;
  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    sendText(input.value);
    input.value = '';
    input.style.height = '';
    sendButton.disabled = true;
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('form').requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    sendButton.disabled = input.value.trim() === '';
    input.style.height = 'auto';
    input.style.height = `${Math.min(120, input.scrollHeight)}px`;
    if (state.agent && Date.now() - lastTypingSent > 2000) {
      lastTypingSent = Date.now();
      sendFrame({ type: 'typing', isTyping: true });
    }
  });
  input.addEventListener('compositionend', () => {
    sendButton.disabled = input.value.trim() === '';
  });
  $('.launcher').addEventListener('click', () => setOpen(!state.isOpen));
  // Any element of the host page with `data-kefu-open` opens the chat.
  document.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('[data-kefu-open]')) setOpen(true);
  });
  $('.close').addEventListener('click', () => setOpen(false));
  $('.panel').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      setOpen(false);
      $('.launcher').focus();
    }
  });
  window.addEventListener('online', () => {
    attempt = 0;
    connect();
  });
  window.addEventListener('storage', (event) => {
    // Another tab of this site wrote the transcript: adopt it if it is further along.
    if (event.key !== storeKey || !event.newValue) return;
    try {
      const other = JSON.parse(event.newValue);
      if ((other.lastSeq || 0) > state.lastSeq) {
        Object.assign(state, {
          lastSeq: other.lastSeq,
          messages: other.messages,
          agent: other.agent,
        });
        render();
      }
    } catch {}
  });

  function start() {
    sendButton.disabled = true;
    document.body.append(host);
    setOpen(state.isOpen);
    render();
    connect();
  }

  // A host may put the tag in <head> without `defer`: wait for <body> then.
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });

  /** A small handle for hosts: `window.Kefu.open()`, `.close()`, `.send(text)`. */
  window.Kefu = Object.freeze({
    open: () => setOpen(true),
    close: () => setOpen(false),
    send: (text) => sendText(String(text)),
  });
})();
