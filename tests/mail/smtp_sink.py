"""A local SMTP sink for the license email tests (Debian's python3-aiosmtpd): takes messages on
a loopback port it picks, writes each to DIR/<n>.eml beside DIR/<n>.json (its envelope and
whether it came over TLS), and writes its port to PORT_FILE once it listens.

usage: smtp_sink.py DIR PORT_FILE [--tls CERT KEY] [--reject-rcpt ADDRESS]
                   [--reject-sender ADDRESS] [--defer-data N]
  --tls            offer STARTTLS with this certificate
  --reject-rcpt    answer 550 to RCPT TO of this address (a permanent failure of that mail)
  --reject-sender  answer 553 to MAIL FROM of this address (the relay's setup: not the mail's)
  --defer-data   answer 451 to the first N messages (a temporary failure)
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, reject, reject_sender, defer):
        self.out, self.reject, self.defer, self.n = out, reject, defer, 0
        self.reject_sender = reject_sender

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address == self.reject_sender:
            return "553 5.7.1 sender not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.defer > 0:
            self.defer -= 1
            return "451 4.3.0 try again later"
        self.n += 1
        base = os.path.join(self.out, str(self.n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": session.ssl is not None}, f)
        os.rename(base + ".eml.tmp", base + ".eml")  # whole when it appears
        return "250 OK queued"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("port_file")
    p.add_argument("--tls", nargs=2)
    p.add_argument("--reject-rcpt", default="")
    p.add_argument("--reject-sender", default="")
    p.add_argument("--defer-data", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    context = None
    if a.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.tls[0], a.tls[1])
    handler = Sink(a.dir, a.reject_rcpt, a.reject_sender, a.defer_data)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, tls_context=context, hostname="sink.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(a.port_file + ".tmp", a.port_file)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
