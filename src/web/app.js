// The engage web client: one member of a mesh room in a browser. It speaks the wire protocol of the
// original engage app's browser client (docs/protocol.md) — `new-join` on open, existing members
// offer, the newcomer answers with setLocalDescription(), no trickle (each side waits for ICE gathering
// to complete), a data channel labelled `channel` carrying `"<name>: <text>"` — and also understands
// engage's `peer-left` and `error`. Plain ES module, no framework, no build step; served by `engage serve`.
//
// The protocol's constants come from the server's own module: `engage serve` renders
// src/signaling/constants.ts at /signaling/constants.js, which is where this import points from /web/.

import {
  CLOSE_CODES,
  DATA_CHANNEL_LABEL,
  ROOM_NAME,
  ROOM_PATH,
  SERVER_PEER,
  STANDARD_CLOSE_CODES,
  USERNAME,
} from '../signaling/constants.js';

/** The original waited for gathering without limit; on loopback it takes milliseconds. */
const GATHER_TIMEOUT_MS = 5000;
/** What a close code means to the person at the page (username-taken has its own, longer message). */
const CLOSE_MESSAGES = {
  [STANDARD_CLOSE_CODES.goingAway]: 'The server is shutting down.',
  [STANDARD_CLOSE_CODES.tooBig]: 'The server closed the connection: a message was far too large.',
  [CLOSE_CODES.unauthorized]:
    'The server refused this page: it needs a valid token (or the token has expired).',
  [CLOSE_CODES['room-full']]: 'The room is full.',
  [CLOSE_CODES['join-timeout']]: 'The server closed the connection: the page did not join in time.',
  [CLOSE_CODES.rejoin]: "The server lost this page's place in the room: reload the page to join again.",
};

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`engage: the page has no #${id}`);
  return el;
}

const ui = {
  status: byId('status'),
  lobby: byId('lobby'),
  joinForm: /** @type {HTMLFormElement} */ (byId('join-form')),
  roomInput: /** @type {HTMLInputElement} */ (byId('room-input')),
  nameInput: /** @type {HTMLInputElement} */ (byId('name-input')),
  joinButton: /** @type {HTMLButtonElement} */ (byId('join-button')),
  lobbyError: byId('lobby-error'),
  room: byId('room'),
  roomTitle: byId('room-title'),
  shareLink: /** @type {HTMLAnchorElement} */ (byId('share-link')),
  micButton: /** @type {HTMLButtonElement} */ (byId('mic-button')),
  cameraButton: /** @type {HTMLButtonElement} */ (byId('camera-button')),
  soundButton: /** @type {HTMLButtonElement} */ (byId('sound-button')),
  leaveButton: /** @type {HTMLButtonElement} */ (byId('leave-button')),
  roomNotice: byId('room-notice'),
  tiles: byId('tiles'),
  chatLog: byId('chat-log'),
  chatForm: /** @type {HTMLFormElement} */ (byId('chat-form')),
  chatInput: /** @type {HTMLInputElement} */ (byId('chat-input')),
};

// ---- small helpers ------------------------------------------------------------------------------

/** Why `name` cannot be a username (the server's rules, from its constants), or null. */
function usernameProblem(name) {
  if (name.length < 1 || name.length > USERNAME.maxLength)
    return `A name is 1 to ${USERNAME.maxLength} characters.`;
  if (USERNAME.forbidden.test(name)) return 'A name cannot contain control characters.';
  if (name.startsWith(USERNAME.reservedPrefix))
    return `A name cannot start with "${USERNAME.reservedPrefix}".`;
  return null;
}

/** `/room/` or, when the page was opened under the original's proxy prefix, `/ws/room/`. */
function roomPrefix() {
  return location.pathname.startsWith('/ws/') ? '/ws/room/' : '/room/';
}

function roomUrl(room) {
  return `${location.origin}${roomPrefix()}${encodeURIComponent(room)}/`;
}

/** The room's WebSocket, with `?username=` so that a taken name is refused at once (and a token if any). */
function socketUrl(room, name) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${roomPrefix()}${encodeURIComponent(room)}/${roomQuery(name)}`;
}

/** A server started with --auth-secret needs the `?token=` the page itself was opened with. */
const token = new URLSearchParams(location.search).get('token');

function roomQuery(name) {
  const q = new URLSearchParams({ username: name });
  if (token) q.set('token', token);
  return `?${q}`;
}

function setStatus(text) {
  ui.status.textContent = text;
}

function showNotice(text) {
  ui.roomNotice.textContent = text;
  ui.roomNotice.hidden = text === '';
}

/** Resolves when ICE gathering is complete (the protocol sends whole descriptions, no trickle). */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve(undefined);
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function isDescription(sdp, type) {
  return typeof sdp === 'object' && sdp !== null && sdp.type === type && typeof sdp.sdp === 'string';
}

/** Starts a video; when the browser refuses sound without a click, plays it muted and offers a button. */
function play(video) {
  video.play().catch((err) => {
    if (err?.name !== 'NotAllowedError') return;
    video.muted = true;
    video.play().catch(() => {});
    ui.soundButton.hidden = false;
  });
}

// ---- local media --------------------------------------------------------------------------------

async function userMedia(constraints) {
  if (!navigator.mediaDevices?.getUserMedia) return undefined;
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch {
    return undefined;
  }
}

/** A generated test picture (for a browser without a camera): colour bars, a moving ball, a frame counter. */
function testPicture(name) {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const g = canvas.getContext('2d');
  if (!g || typeof canvas.captureStream !== 'function') return undefined;
  const bars = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
  let frame = 0;
  const draw = () => {
    frame++;
    g.fillStyle = '#1d2733';
    g.fillRect(0, 0, 640, 360);
    bars.forEach((colour, i) => {
      g.fillStyle = colour;
      g.fillRect(Math.floor((i * 640) / 7), 0, Math.ceil(640 / 7), 60);
    });
    const span = 640 - 2 * 40;
    const t = (frame * 8) % (2 * span);
    const x = 40 + (t < span ? t : 2 * span - t);
    g.fillStyle = '#ffb000';
    g.beginPath();
    g.arc(x, 230, 30, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = '#ffffff';
    g.font = 'bold 30px sans-serif';
    g.fillText(name, 24, 110);
    g.font = '20px monospace';
    g.fillText(`engage test picture · frame ${frame}`, 24, 145);
  };
  draw();
  const timer = setInterval(draw, 1000 / 15);
  const track = canvas.captureStream(15).getVideoTracks()[0];
  if (!track) {
    clearInterval(timer);
    return undefined;
  }
  return {
    track,
    stop: () => {
      clearInterval(timer);
      track.stop();
    },
  };
}

/** A quiet 440 Hz tone (for a browser without a microphone). */
function quietTone() {
  if (typeof AudioContext !== 'function') return undefined;
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 440;
  const gain = ctx.createGain();
  gain.gain.value = 0.02;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  // Without a click first the context may start suspended; the next click anywhere resumes it.
  const resume = () => ctx.resume().catch(() => {});
  resume();
  document.addEventListener('click', resume, { once: true });
  const track = dest.stream.getAudioTracks()[0];
  if (!track) return undefined;
  return {
    track,
    stop: () => {
      document.removeEventListener('click', resume);
      track.stop();
      osc.stop();
      ctx.close().catch(() => {});
    },
  };
}

/** The camera and microphone, or generated stand-ins for whichever is missing. One stream for every link. */
class LocalMedia {
  constructor(stream, stops, generated) {
    this.stream = stream;
    this.stops = stops;
    /** Which kinds are generated rather than captured. */
    this.generated = generated;
    this.closed = false;
  }

  static async open(name) {
    let captured = await userMedia({ video: true, audio: true });
    if (!captured) {
      const [video, audio] = [await userMedia({ video: true }), await userMedia({ audio: true })];
      captured = new MediaStream([...(video?.getTracks() ?? []), ...(audio?.getTracks() ?? [])]);
    }
    const stream = new MediaStream();
    const stops = [];
    const generated = new Set();
    const video = captured.getVideoTracks()[0];
    const audio = captured.getAudioTracks()[0];
    for (const kind of /** @type {const} */ (['video', 'audio'])) {
      const real = kind === 'video' ? video : audio;
      if (real) {
        stream.addTrack(real);
        stops.push(() => real.stop());
        continue;
      }
      const made = kind === 'video' ? testPicture(name) : quietTone();
      if (!made) continue;
      stream.addTrack(made.track);
      stops.push(made.stop);
      generated.add(kind);
    }
    return new LocalMedia(stream, stops, generated);
  }

  /** Flips `enabled` on the tracks of `kind`; returns whether they are now on, or undefined without one. */
  toggle(kind) {
    const tracks = kind === 'video' ? this.stream.getVideoTracks() : this.stream.getAudioTracks();
    if (tracks.length === 0) return undefined;
    const on = !tracks[0].enabled;
    for (const t of tracks) t.enabled = on;
    return on;
  }

  has(kind) {
    return (kind === 'video' ? this.stream.getVideoTracks() : this.stream.getAudioTracks()).length > 0;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stops) stop();
  }
}

// ---- tiles and chat -----------------------------------------------------------------------------

/** A video tile: `<li class="tile" data-peer="<name>" data-state="…">` with a video and a caption. */
function createTile(name, self) {
  const tile = document.createElement('li');
  tile.className = self ? 'tile self' : 'tile';
  tile.dataset.peer = name;
  tile.dataset.state = self ? 'local' : 'connecting';
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  if (self) video.muted = true;
  const caption = document.createElement('p');
  caption.className = 'caption';
  const label = document.createElement('span');
  label.className = 'name';
  label.textContent = self ? `${name} (you)` : name;
  const state = document.createElement('span');
  state.className = 'state';
  state.textContent = self ? '' : 'connecting…';
  caption.append(label, state);
  tile.append(video, caption);
  ui.tiles.append(tile);
  return { tile, video, state };
}

/** Adds one chat line. Chat is untrusted: it only ever becomes text. */
function addChat(text, mine) {
  const li = document.createElement('li');
  if (mine) li.className = 'mine';
  li.textContent = text;
  ui.chatLog.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

// ---- one remote member --------------------------------------------------------------------------

class Member {
  constructor(session, name, channelName, role) {
    this.session = session;
    this.name = name;
    /** The member's signaling channel, where offers and answers for it go. */
    this.channelName = channelName;
    this.role = role;
    this.closed = false;
    /** @type {RTCDataChannel | undefined} */
    this.channel = undefined;
    this.view = createTile(name, false);
    this.remote = new MediaStream();
    this.view.video.srcObject = this.remote;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.addEventListener('track', (e) => {
      this.remote.addTrack(e.track);
      play(this.view.video);
    });
    this.pc.addEventListener('connectionstatechange', () => this.onState());
  }

  get connected() {
    return this.pc.connectionState === 'connected';
  }

  addLocalTracks() {
    const { stream } = this.session.media;
    for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
  }

  useChannel(dc) {
    this.channel = dc;
    dc.binaryType = 'arraybuffer';
    dc.addEventListener('message', (e) => {
      const text = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data);
      addChat(text, false);
    });
  }

  onState() {
    const s = this.pc.connectionState;
    this.view.tile.dataset.state = s;
    this.view.state.textContent = s === 'connected' ? '' : `${s}…`;
    // The original dropped a member on ICE failure; engage's peer-left usually comes first.
    if (s === 'failed') this.session.drop(this.name, this);
    else this.session.updateStatus();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.pc.close();
    this.view.video.srcObject = null;
    this.view.tile.remove();
  }
}

// ---- the room -----------------------------------------------------------------------------------

/** One visit to a room: the signaling socket, local media and a Member per other peer. */
class RoomSession {
  constructor(room, name, media) {
    this.room = room;
    this.name = name;
    this.media = media;
    /** @type {Map<string, Member>} */
    this.members = new Map();
    this.opened = false;
    this.ended = false;
    /** Why the server is about to close the socket, from its `error` message. */
    this.failure = '';
    this.self = createTile(name, true);
    this.self.video.srcObject = media.stream;
    if (media.generated.has('video')) this.self.state.textContent = 'test picture';
    play(this.self.video);
    this.ws = new WebSocket(socketUrl(room, name));
    this.ws.addEventListener('open', () => this.onOpen());
    this.ws.addEventListener('message', (e) => this.onMessage(e.data));
    // An `error` event is always followed by `close`, which says what happened.
    this.ws.addEventListener('close', (e) => this.onSocketClose(e));
  }

  send(action, keyword = {}) {
    if (this.ws.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ peer: this.name, action, keyword }));
  }

  onOpen() {
    this.opened = true;
    this.send('new-join');
    showRoomView(this);
    this.updateStatus();
  }

  onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const { peer, action } = msg;
    if (typeof peer !== 'string' || typeof action !== 'string') return;
    const keyword = typeof msg.keyword === 'object' && msg.keyword !== null ? msg.keyword : {};
    if (action === 'error') {
      if (peer === SERVER_PEER) this.onServerError(keyword);
      return;
    }
    if (peer === this.name) return; // our own echo
    const channel = typeof keyword.receiver_channel_name === 'string' ? keyword.receiver_channel_name : '';
    switch (action) {
      case 'new-join':
        if (channel) this.offerTo(peer, channel);
        return;
      case 'new-offer':
        if (channel && isDescription(keyword.sdp, 'offer')) this.answer(peer, channel, keyword.sdp);
        return;
      case 'new-answer':
        if (isDescription(keyword.sdp, 'answer')) this.accept(peer, keyword.sdp);
        return;
      case 'close':
      case 'peer-left':
        this.drop(peer);
        return;
      default:
        return; // unknown actions are ignored, as the original client did
    }
  }

  onServerError(keyword) {
    const code = String(keyword.code ?? '');
    const message = typeof keyword.message === 'string' ? keyword.message : code;
    if (code === 'username-taken') this.failure = nameTakenMessage(this.room, this.name);
    else if (code in CLOSE_CODES)
      this.failure = message; // the server closes the socket next
    else showNotice(`The server refused a message: ${message}`);
  }

  addMember(peer, channel, role) {
    this.members.get(peer)?.close();
    const member = new Member(this, peer, channel, role);
    this.members.set(peer, member);
    this.updateStatus();
    return member;
  }

  /** Someone joined: offer to them, with the data channel, once our candidates are all in the offer. */
  async offerTo(peer, channel) {
    const member = this.addMember(peer, channel, 'offerer');
    try {
      member.useChannel(member.pc.createDataChannel(DATA_CHANNEL_LABEL));
      member.addLocalTracks();
      await member.pc.setLocalDescription(await member.pc.createOffer());
      await gatheringComplete(member.pc);
      if (member.closed) return;
      const { type, sdp } = /** @type {RTCSessionDescription} */ (member.pc.localDescription);
      this.send('new-offer', { sdp: { type, sdp }, receiver_channel_name: channel });
    } catch (err) {
      this.negotiationFailed(member, err);
    }
  }

  /** An existing member offered: answer, as the original did, with setLocalDescription(). */
  async answer(peer, channel, offer) {
    const existing = this.members.get(peer);
    if (existing && existing.role === 'offerer' && !existing.connected && existing.channelName === channel) {
      // Crossed offers (a server that does not order joins): the name that sorts first keeps its offer.
      if (this.name < peer) return;
    }
    const member = this.addMember(peer, channel, 'answerer');
    try {
      member.pc.addEventListener('datachannel', (e) => {
        if (e.channel.label === DATA_CHANNEL_LABEL) member.useChannel(e.channel);
      });
      member.addLocalTracks();
      await member.pc.setRemoteDescription(offer);
      await member.pc.setLocalDescription();
      await gatheringComplete(member.pc);
      if (member.closed) return;
      const { type, sdp } = /** @type {RTCSessionDescription} */ (member.pc.localDescription);
      this.send('new-answer', { sdp: { type, sdp }, receiver_channel_name: channel });
    } catch (err) {
      this.negotiationFailed(member, err);
    }
  }

  async accept(peer, answer) {
    const member = this.members.get(peer);
    if (member?.pc.signalingState !== 'have-local-offer') return;
    try {
      await member.pc.setRemoteDescription(answer);
    } catch (err) {
      this.negotiationFailed(member, err);
    }
  }

  negotiationFailed(member, err) {
    if (member.closed) return;
    console.warn(`engage: negotiation with ${member.name} failed`, err);
    showNotice(`Could not connect to ${member.name}: ${err instanceof Error ? err.message : String(err)}`);
    this.drop(member.name, member);
  }

  /** Removes a member's tile and connection (only `member`, when given: not a newer one of that name). */
  drop(peer, member = undefined) {
    const current = this.members.get(peer);
    if (!current || (member && current !== member)) return;
    this.members.delete(peer);
    current.close();
    this.updateStatus();
  }

  updateStatus() {
    if (this.ended || !this.opened) return;
    const others = this.members.size;
    const connected = [...this.members.values()].filter((m) => m.connected).length;
    const who = others === 0 ? 'nobody else yet' : `${connected} of ${others} others connected`;
    setStatus(`In room ${this.room} as ${this.name} · ${who}`);
  }

  chat(text) {
    const line = `${this.name}: ${text}`;
    let sent = 0;
    for (const member of this.members.values()) {
      if (member.channel?.readyState === 'open') {
        member.channel.send(line);
        sent++;
      }
    }
    addChat(line, true);
    showNotice(sent === 0 ? 'Nobody is connected yet: that message went to no one.' : '');
  }

  async onSocketClose(event) {
    if (this.ended) return;
    let reason = this.failure;
    if (!reason && !this.opened) reason = await refusalReason(this.room, this.name);
    if (!reason && event.code === CLOSE_CODES['username-taken'])
      reason = nameTakenMessage(this.room, this.name);
    if (!reason)
      reason = CLOSE_MESSAGES[event.code] ?? `The connection to the server closed (code ${event.code}).`;
    this.end(reason);
  }

  /** Leaves on purpose: says `close` to the room, then closes everything. */
  leave() {
    if (this.ended) return;
    this.send('close');
    this.end('');
  }

  end(error) {
    if (this.ended) return;
    this.ended = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000);
    for (const member of this.members.values()) member.close();
    this.members.clear();
    this.self.tile.remove();
    this.media.close();
    showLobby(this.room, this.name, error);
  }
}

function nameTakenMessage(room, name) {
  return `The name "${name}" is already taken in room ${room}. Choose another name.`;
}

/**
 * A browser does not tell a page why a WebSocket upgrade failed. The page checked the room and the name
 * already; if the server itself answers, the refusal was the one it makes for a taken name (HTTP 409).
 */
async function refusalReason(room, name) {
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    if (res.ok && token)
      return `The server refused "${name}" in room ${room}: the name is taken or the token is not valid.`;
    if (res.ok) return nameTakenMessage(room, name);
  } catch {
    // fall through
  }
  return 'Cannot reach the engage server.';
}

// ---- views --------------------------------------------------------------------------------------

/** @type {RoomSession | undefined} */
let session;

function showLobby(room, name, error) {
  session = undefined;
  ui.room.hidden = true;
  ui.lobby.hidden = false;
  ui.joinButton.disabled = false;
  ui.soundButton.hidden = true;
  showNotice('');
  ui.roomInput.value = room;
  ui.nameInput.value = name;
  ui.lobbyError.textContent = error;
  ui.lobbyError.hidden = error === '';
  setStatus(error ? '' : 'Left the room.');
  if (room) history.replaceState(null, '', `${roomPrefix()}${encodeURIComponent(room)}/`);
  if (error) {
    ui.nameInput.focus();
    ui.nameInput.select();
  }
}

function showRoomView(s) {
  ui.lobby.hidden = true;
  ui.lobbyError.hidden = true;
  ui.room.hidden = false;
  ui.roomTitle.textContent = `Room ${s.room}`;
  ui.shareLink.href = roomUrl(s.room);
  ui.shareLink.textContent = roomUrl(s.room);
  ui.chatLog.replaceChildren();
  setToggle(ui.micButton, s.media.has('audio') ? true : undefined, 'Mute microphone', 'Unmute microphone');
  setToggle(ui.cameraButton, s.media.has('video') ? true : undefined, 'Turn camera off', 'Turn camera on');
  // Reloading the page rejoins; the share link (without a name) is for others.
  history.replaceState(null, '', `${roomPrefix()}${encodeURIComponent(s.room)}/${roomQuery(s.name)}`);
  ui.chatInput.focus();
}

/** `on`: the track is on (button offers to turn it off); undefined: there is no such track. */
function setToggle(button, on, offText, onText) {
  button.disabled = on === undefined;
  button.textContent = on === false ? onText : offText;
  button.setAttribute('aria-pressed', String(on === false));
}

async function join(room, name) {
  const roomProblem = ROOM_NAME.test(room) ? null : 'A room name is 1 to 64 letters, digits, "_" or "-".';
  const problem = roomProblem ?? usernameProblem(name);
  if (problem) {
    showLobby(room, name, problem);
    return;
  }
  ui.joinButton.disabled = true;
  ui.lobbyError.hidden = true;
  setStatus(`Joining room ${room}…`);
  const media = await LocalMedia.open(name);
  session = new RoomSession(room, name, media);
}

// ---- wiring -------------------------------------------------------------------------------------

ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (session) return;
  join(ui.roomInput.value.trim(), ui.nameInput.value.trim());
});

ui.chatForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.chatInput.value;
  if (!session || text.trim() === '') return;
  session.chat(text);
  ui.chatInput.value = '';
});

ui.micButton.addEventListener('click', () => {
  setToggle(ui.micButton, session?.media.toggle('audio'), 'Mute microphone', 'Unmute microphone');
});

ui.cameraButton.addEventListener('click', () => {
  setToggle(ui.cameraButton, session?.media.toggle('video'), 'Turn camera off', 'Turn camera on');
});

ui.soundButton.addEventListener('click', () => {
  for (const video of ui.tiles.querySelectorAll('.tile:not(.self) video')) {
    const v = /** @type {HTMLVideoElement} */ (video);
    v.muted = false;
    v.play().catch(() => {});
  }
  ui.soundButton.hidden = true;
});

ui.leaveButton.addEventListener('click', () => session?.leave());

// Closing the tab: say goodbye (the server's peer-left would follow anyway).
window.addEventListener('pagehide', () => session?.leave());

// For tools that drive this page (`engage loadtest --browsers` reads getStats() of each connection):
// the visit's state and each member's connection, read-only. Nothing in the page depends on it.
Object.defineProperty(window, 'engage', {
  value: Object.freeze({
    session: () =>
      session && {
        name: session.name,
        joined: session.opened && !session.ended,
        members: [...session.members.values()].map((m) => ({
          name: m.name,
          role: m.role,
          pc: m.pc,
          channel: m.channel,
        })),
      },
    lobbyError: () => (ui.lobbyError.hidden ? '' : ui.lobbyError.textContent),
  }),
});

// `/room/<room>/?username=<name>` joins at once; `/room/<room>/` asks only for a name.
(function start() {
  let room = '';
  try {
    room = decodeURIComponent(ROOM_PATH.exec(location.pathname)?.[1] ?? '');
  } catch {
    room = '';
  }
  const name = new URLSearchParams(location.search).get('username') ?? '';
  ui.roomInput.value = room;
  ui.nameInput.value = name;
  if (room && name) join(room, name);
  else (room ? ui.nameInput : ui.roomInput).focus();
})();
