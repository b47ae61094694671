"""A small SMSC for the tests and the benchmark: a separate process speaking SMPP 3.4 over TCP.

    python tests/gateways/smpp_server.py --log received.jsonl [--port 0] [--hex-ids]

Prints `port N` on its first line, then answers commands on stdin, one a line, each with
`ok ...` on stdout:

    refuse STATUS           answer the next binds with this command_status (14: wrong password)
    accept                  accept binds again
    throttle N              answer the next N submit_sm with ESME_RTHROTTLED (0x58)
    queuefull N             ... with ESME_RMSGQFUL (0x14)
    hold / release          stop answering submit_sm (they wait) / answer all that wait
    mute                    answer nothing any more, binds included (a link dead in silence)
    receipts before|after|off   a DELIVRD receipt before or after each submit_sm_resp
    nextid ID               the next submit_sm accepted gets this message_id
    receipt ID              send a DELIVRD receipt for ID now (an id nobody was given yet)
    multipart SENDER REF ORDER TEXT|TEXT|...  a long SMS by UDH, its parts in ORDER (e.g. 3,1,2)
    mo SENDER DEST TEXT...  an SMS from SENDER addressed to DEST (a sender name or number)
    stats                   {"received", "acked", "enquiries", "outstanding",
                            "max_outstanding", "binds", "unacked"}

Every submit_sm it accepts is logged (one JSON line: message_id, destination, data_coding,
esm_class, short_message hex, bind number) and flushed BEFORE its resp is written: the log
is what the SMSC took, even when it is killed. deliver_sm not answered by the client are
sent again on its next bind (as a real SMSC does).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import struct
import sys
import time

import smpp34

HEADER = struct.Struct(">IIII")
BIND_CMDS = {0x01, 0x02, 0x09}


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.refuse = 0
        self.throttle = 0
        self.queuefull = 0
        self.hold = False
        self.receipts = args.receipts
        self.next_id: list[str] = []
        self.ids = itertools.count(int(time.time()) % 100000 * 100000 + 1)
        self.received = 0
        self.acked = 0  # deliver_sm answered by the client
        self.enquiries = 0  # enquire_link received
        self.mute = False  # read everything, answer nothing (a link that died silently)
        self.max_outstanding = 0
        self.binds = 0
        self.conns: list[Conn] = []
        self.unacked: dict[tuple[int, int], bytes] = {}  # (conn id, seq) -> deliver_sm body
        self.log = open(args.log, "ab", buffering=0) if args.log else None  # noqa: SIM115

    def new_id(self) -> str:
        if self.next_id:
            return self.next_id.pop(0)
        n = next(self.ids)
        return f"{n:x}" if self.args.hex_ids else str(n)

    def receipt_id(self, message_id: str) -> str:
        # With --hex-ids the resp gives hex and the receipt decimal (Kannel's msg-id-type 1).
        if self.args.hex_ids:
            try:
                return str(int(message_id, 16))
            except ValueError:
                return message_id
        return message_id


class Conn(asyncio.Protocol):
    numbers = itertools.count(1)

    def __init__(self, state: State) -> None:
        self.state = state
        self.id = next(Conn.numbers)
        self.buffer = b""
        self.bound = False
        self.seq = itertools.count(1)
        self.held: list[tuple[int, str]] = []
        self.outstanding = 0
        self.transport: asyncio.Transport | None = None
        self.mine: dict[int, bytes] = {}  # our deliver_sm seq -> pdu, waiting for its resp

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.state.conns.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.state.conns:
            self.state.conns.remove(self)
        if self.bound:
            self.state.binds -= 1
        # what it did not answer is delivered again on the next bind
        for data in self.mine.values():
            self.state.unacked[(self.id, len(self.state.unacked))] = data
        self.mine.clear()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out: list[bytes] = []
        logged: list[bytes] = []
        while len(self.buffer) >= 16:
            length = int.from_bytes(self.buffer[:4], "big")
            if len(self.buffer) < length:
                break
            frame, self.buffer = self.buffer[:length], self.buffer[length:]
            self.handle(frame, out, logged)
        if logged and self.state.log is not None:
            self.state.log.write(b"".join(logged))
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def deliver(
        self,
        short: bytes,
        *,
        source: str,
        esm: int,
        out: list[bytes],
        ton: int = 1,
        coding: int = 0,
        destination: str = "MYSHOP",
    ) -> None:
        seq = next(self.seq) + 1_000_000
        data = smpp34.DeliverSm(
            source,
            destination,
            short,
            source_addr_ton=ton,
            source_addr_npi=1,
            esm_class=esm,
            data_coding=coding,
            sequence_number=seq,
        ).encode()
        self.mine[seq] = data
        out.append(data)

    def receipt(self, message_id: str, out: list[bytes], to: str = "33600000000") -> None:
        rid = self.state.receipt_id(message_id)
        text = (
            f"id:{rid} sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 "
            f"stat:DELIVRD err:000 text:"
        ).encode()
        self.deliver(text, source=to, esm=0x04, out=out)

    def handle(self, frame: bytes, out: list[bytes], logged: list[bytes]) -> None:
        _length, command, _status, seq = HEADER.unpack_from(frame)
        st = self.state
        if command == 0x15:
            st.enquiries += 1
        if st.mute:
            return
        if command in BIND_CMDS:
            body = frame[16:].split(b"\0")
            ok = body[0].decode() == st.args.system_id and body[1].decode() == st.args.password
            code = st.refuse or (0 if ok else 0x0E)
            out.append(HEADER.pack(16 + 6, command | 0x80000000, code, seq) + b"SMSC1\0")
            if code:
                return
            self.bound = True
            st.binds += 1
            if command != 0x02:  # a receiver or transceiver: what waits goes to it
                for key in list(st.unacked):
                    data = st.unacked.pop(key)
                    new_seq = next(self.seq) + 1_000_000
                    data = data[:12] + new_seq.to_bytes(4, "big") + data[16:]
                    self.mine[new_seq] = data
                    out.append(data)
        elif command == 0x04:  # submit_sm
            if not self.bound:
                out.append(HEADER.pack(16, 0x80000004, 0x04, seq))
                return
            if st.throttle or st.queuefull:
                code = 0x58 if st.throttle else 0x14
                if st.throttle:
                    st.throttle -= 1
                else:
                    st.queuefull -= 1
                out.append(HEADER.pack(16, 0x80000004, code, seq))
                return
            pdu = smpp34.decode(frame)
            assert isinstance(pdu, smpp34.SubmitSm)
            message_id = st.new_id()
            st.received += 1
            payload = next((t.value for t in pdu.tlvs if t.tag == smpp34.TLV_MESSAGE_PAYLOAD), b"")
            logged.append(
                json.dumps(
                    {
                        "id": message_id,
                        "to": pdu.destination_addr,
                        "from": pdu.source_addr,
                        "ton": pdu.source_addr_ton,
                        "dc": pdu.data_coding,
                        "esm": pdu.esm_class,
                        "sm": (pdu.short_message or payload).hex(),
                        "payload": bool(payload),
                        "rd": pdu.registered_delivery,
                        "conn": self.id,
                    }
                ).encode()
                + b"\n"
            )
            self.outstanding += 1
            st.max_outstanding = max(st.max_outstanding, self.outstanding)
            if st.hold:
                self.held.append((seq, message_id))
                return
            self.answer(seq, message_id, pdu.destination_addr, pdu.registered_delivery, out)
        elif command == 0x80000005:  # deliver_sm_resp
            if self.mine.pop(seq, None) is not None:
                st.acked += 1
        elif command == 0x15:
            out.append(HEADER.pack(16, 0x80000015, 0, seq))
        elif command == 0x06:
            out.append(HEADER.pack(16, 0x80000006, 0, seq))
        elif not command & 0x80000000:
            out.append(HEADER.pack(16, 0x80000000, 0x03, seq))

    def answer(self, seq: int, message_id: str, to: str, rd: int, out: list[bytes]) -> None:
        self.outstanding -= 1
        resp = (
            HEADER.pack(16 + len(message_id) + 1, 0x80000004, 0, seq) + message_id.encode() + b"\0"
        )
        wants = rd & 0x03 and self.state.receipts != "off"
        if wants and self.state.receipts == "before":
            self.receipt(message_id, out, to)
        out.append(resp)
        if wants and self.state.receipts == "after":
            self.receipt(message_id, out, to)


async def commands(state: State) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.decode().split()
        if not words:
            continue
        reply = "ok"
        cmd, args = words[0], words[1:]
        target = next((c for c in reversed(state.conns) if c.bound), None)
        out: list[bytes] = []
        if cmd == "refuse":
            state.refuse = int(args[0])
        elif cmd == "accept":
            state.refuse = 0
        elif cmd == "throttle":
            state.throttle = int(args[0])
        elif cmd == "queuefull":
            state.queuefull = int(args[0])
        elif cmd == "mute":
            state.mute = True
        elif cmd == "hold":
            state.hold = True
        elif cmd == "release":
            state.hold = False
            for conn in state.conns:
                held, conn.held = conn.held, []
                conn_out: list[bytes] = []
                for seq, message_id in held:
                    conn.answer(seq, message_id, "33600000000", 1, conn_out)
                if conn_out and conn.transport is not None:
                    conn.transport.write(b"".join(conn_out))
        elif cmd == "receipts":
            state.receipts = args[0]
        elif cmd == "nextid":
            state.next_id.append(args[0])
        elif cmd == "receipt" and target is not None:
            target.receipt(args[0], out)
        elif cmd == "multipart" and target is not None:
            sender, ref, order = args[0], int(args[1]), [int(i) for i in args[2].split(",")]
            texts = " ".join(args[3:]).split("|")
            for seq in order:
                udh = bytes((5, 0, 3, ref, len(texts), seq))
                body = udh + texts[seq - 1].encode("utf-16-be")
                target.deliver(body, source=sender.lstrip("+"), esm=0x40, out=out, coding=8)
        elif cmd == "mo" and target is not None:  # mo SENDER DESTINATION TEXT...
            target.deliver(
                " ".join(args[2:]).encode("utf-16-be"),
                source=args[0].lstrip("+"),
                esm=0,
                out=out,
                coding=8,
                destination=args[1],
            )
        elif cmd == "stats":
            reply = "ok " + json.dumps(
                {
                    "received": state.received,
                    "acked": state.acked,
                    "enquiries": state.enquiries,
                    "outstanding": sum(c.outstanding for c in state.conns),
                    "max_outstanding": state.max_outstanding,
                    "binds": state.binds,
                    "unacked": len(state.unacked) + sum(len(c.mine) for c in state.conns),
                }
            )
        else:
            reply = "error unknown command or no bind"
        if out and target is not None and target.transport is not None:
            target.transport.write(b"".join(out))
        print(reply, flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default="")
    parser.add_argument("--system-id", default="smsdesk")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--hex-ids", action="store_true")
    parser.add_argument("--receipts", default="after", choices=("before", "after", "off"))
    parser.add_argument("--no-commands", action="store_true", help="do not read stdin")
    args = parser.parse_args()
    state = State(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Conn(state), "127.0.0.1", args.port, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    if args.no_commands:
        await asyncio.Event().wait()
    await commands(state)
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
