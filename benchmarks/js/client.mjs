// The Node Yjs client of Wayfarer's benchmarks: yjs + y-websocket + ws, exactly what a
// third-party client of the document contract runs. The same script drives the Wayfarer
// relay and @y/websocket-server, so the two relays are compared through one client.
//
//   node client.mjs MODE CONFIG.json
//
// It talks to the Python runner in JSON lines: events on stdout ({"event": ...}),
// commands on stdin ("go", "finish", "leave"); it exits when its stdin closes.
// Times are milliseconds of CLOCK_MONOTONIC (process.hrtime), the clock Python's
// time.monotonic_ns() reads, so a writer and its readers may live in different processes.
//
// Modes (CONFIG fields in brackets; every mode takes url, room, token, seed):
//   writer   [tokens, rate]            syncs, prints "ready", waits for "go", inserts each
//            token into the last chat message's text in its own transaction (rate tokens/s,
//            0 = all at once), prints "sent" with the send times once the socket drained.
//   readers  [count, tokens, timeout_s] connects `count` peers, prints "ready" once all are
//            synced, records when each token reaches each reader's text observer, prints
//            "done" with those times once every reader has every token (or on "finish").
//   catchup  [rounds, expect_len]     each round a new peer holding only `seed` connects;
//            prints "done" with the times from connecting to synced with the whole text
//            (after one uncounted round that warms the process up).
//   crowd    [rooms, per_room, concurrency] connects per_room peers to each room (the
//            first one of each room brings the seed), prints "synced"; on "leave" closes
//            them all and prints "left".
// `seed` is a base64 Yjs update (a trip with an empty assistant message, made by Python).
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { readFileSync } from 'node:fs'
import readline from 'node:readline'

const [mode, configPath] = process.argv.slice(2)
const cfg = JSON.parse(readFileSync(configPath, 'utf8'))
const seed = cfg.seed ? Buffer.from(cfg.seed, 'base64') : null
process.setMaxListeners(0) // every provider registers an exit handler

const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
const emit = (event, fields = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')

// Neither relay compresses (the Wayfarer relay refuses permessage-deflate by default,
// ws 6 in @y/websocket-server does not enable it): do not even offer it.
class PlainWebSocket extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols, { perMessageDeflate: false })
  }
}

const commands = []
const waiting = []
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const waiter = waiting.shift()
  if (waiter) waiter(line.trim())
  else commands.push(line.trim())
}).on('close', () => process.exit(0))
const command = () => commands.length ? Promise.resolve(commands.shift()) : new Promise((resolve) => waiting.push(resolve))

function connect (room, token, doc) {
  return new WebsocketProvider(cfg.url, room, doc, {
    params: token ? { token } : {},
    WebSocketPolyfill: PlainWebSocket,
    disableBc: true // without it, peers in one process sync over BroadcastChannel, not the relay
  })
}

function synced (provider, timeoutMs = 60000) {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not synced with ${cfg.url}/${provider.roomname} in ${timeoutMs} ms`)), timeoutMs)
    provider.on('sync', (state) => { if (state) { clearTimeout(timer); resolve() } })
  })
}

function seededDoc () {
  const doc = new Y.Doc()
  if (seed) Y.applyUpdate(doc, seed)
  return doc
}

// The streamed text: the last chat message's `text` (DESIGN.md's document contract).
function replyText (doc) {
  const chat = doc.getArray('chat')
  return chat.length ? chat.get(chat.length - 1).get('text') : null
}

async function inBatches (items, concurrency, work) {
  let next = 0
  const worker = async () => { while (next < items.length) await work(items[next++]) }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

async function writer () {
  const doc = seededDoc()
  const provider = connect(cfg.room, cfg.token, doc)
  await synced(provider)
  emit('ready')
  await command()
  const text = replyText(doc)
  const sent = new Array(cfg.tokens.length)
  const interval = cfg.rate > 0 ? 1000 / cfg.rate : 0
  const start = now()
  for (let i = 0; i < cfg.tokens.length; i++) {
    if (interval > 0) await sleep(start + i * interval - now())
    sent[i] = now()
    doc.transact(() => text.insert(text.length, cfg.tokens[i]))
  }
  while (provider.ws && provider.ws.bufferedAmount > 0) await sleep(2)
  emit('sent', { sent, elapsed_ms: now() - start })
}

async function readers () {
  const ends = []
  let total = 0
  for (const token of cfg.tokens) ends.push(total += token.length)
  const received = []
  let complete = 0
  let resolveAll
  const all = new Promise((resolve) => { resolveAll = resolve })
  const peers = Array.from({ length: cfg.count }, () => ({ doc: seededDoc() }))
  await inBatches(peers, 25, async (peer) => {
    peer.provider = connect(cfg.room, cfg.token, peer.doc)
    await synced(peer.provider)
  })
  for (const peer of peers) {
    const times = new Array(ends.length).fill(null)
    received.push(times)
    const text = replyText(peer.doc)
    let next = 0
    text.observe(() => {
      const t = now()
      const length = text.length
      while (next < ends.length && ends[next] <= length) times[next++] = t
      if (next === ends.length && !peer.complete) {
        peer.complete = true
        if (++complete === peers.length) resolveAll()
      }
    })
  }
  emit('ready')
  const timeout = sleep(cfg.timeout_s * 1000)
  await Promise.race([all, timeout, command()])
  emit('done', { received, complete })
  for (const peer of peers) peer.provider.destroy()
}

async function catchup () {
  const times = []
  for (let round = 0; round <= cfg.rounds; round++) { // round 0 warms this process up
    const doc = seededDoc()
    const start = now()
    const provider = connect(cfg.room, cfg.token, doc)
    await synced(provider)
    const text = replyText(doc)
    if (text.length !== cfg.expect_len) {
      emit('error', { message: `caught up to ${text.length} characters, expected ${cfg.expect_len}` })
      process.exit(1)
    }
    if (round > 0) times.push(now() - start)
    provider.destroy()
    await sleep(50)
  }
  emit('done', { times })
}

async function crowd () {
  const peers = []
  const start = now()
  await inBatches(cfg.rooms, Math.max(1, Math.floor(cfg.concurrency / cfg.per_room)), async ({ room, token }) => {
    const first = { provider: connect(room, token, seededDoc()) }
    peers.push(first)
    await synced(first.provider)
    const rest = Array.from({ length: cfg.per_room - 1 }, () => ({ provider: connect(room, token, new Y.Doc()) }))
    peers.push(...rest)
    await Promise.all(rest.map((peer) => synced(peer.provider)))
  })
  emit('synced', { peers: peers.length, elapsed_ms: now() - start })
  while ((await command()) !== 'leave');
  for (const peer of peers) peer.provider.destroy()
  await sleep(500) // let the close frames go out
  emit('left')
}

const modes = { writer, readers, catchup, crowd }
if (!modes[mode]) {
  console.error(`unknown mode ${mode}; one of ${Object.keys(modes).join(', ')}`)
  process.exit(2)
}
modes[mode]().catch((error) => {
  emit('error', { message: String(error && error.stack ? error.stack : error) })
  process.exit(1)
})
