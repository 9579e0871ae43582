// A JavaScript Yjs peer joining a Wayfarer trip by its link, with nothing but yjs,
// y-websocket and ws: what any third-party client of the document contract would do.
//
//   node peer.mjs LINK STOP_ID_TO_READ STOP_JSON_TO_WRITE
//
// It syncs, prints {"read": <the stop STOP_ID_TO_READ as JSON>} on one line, writes the
// stop described by STOP_JSON_TO_WRITE into `stops` (a Y.Map, numbers as JS numbers),
// announces its presence, prints {"wrote": id}, and stays connected until its stdin
// closes, so the Python side decides when the write has arrived.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [link, readId, stopJson] = process.argv.slice(2)
const url = new URL(link)
const tripId = url.pathname.replace(/^\/+/, '')
const token = url.searchParams.get('token')

const doc = new Y.Doc()
const provider = new WebsocketProvider(`${url.protocol}//${url.host}`, tripId, doc, {
  params: { token },
  WebSocketPolyfill: WebSocket,
  disableBc: true
})

const fail = (message) => {
  console.error(message)
  process.exit(1)
}
setTimeout(() => fail('timed out waiting for the relay'), 30000).unref()
provider.on('connection-close', (event) => {
  if (event && event.code === 1008) fail(`the relay refused the link: ${event.reason}`)
})

provider.once('sync', () => {
  const stops = doc.getMap('stops')
  const found = stops.get(readId)
  console.log(JSON.stringify({ read: found ? found.toJSON() : null }))

  const fields = JSON.parse(stopJson)
  doc.transact(() => {
    const stop = new Y.Map()
    for (const [key, value] of Object.entries(fields)) stop.set(key, value)
    stops.set(fields.id, stop)
  })
  provider.awareness.setLocalState({
    user: { id: 'u-js', name: 'JS peer', color: '#f4a261' },
    kind: 'human',
    device: 'node',
    status: 'typing',
    focus: { day: fields.day }
  })
  console.log(JSON.stringify({ wrote: fields.id }))
})

process.stdin.resume()
process.stdin.on('end', () => {
  provider.destroy()
  process.exit(0)
})
