"""End-to-end tests of routing by transport: master.cf service names are
transports; transport_maps entries as a Postfix administrator writes them
("discard:", "error:5.1.1 gone", "error:4.7.0 ...", a transport with no
service) reach the discard and error agents, bounce with the configured
reason, defer, or wait; the agents log their own to= lines; and a
transport of an administrator's own (another name for discard in
master.cf) is used by name.

Every test starts its own instance with postern init's master.cf.
"""

import os
import unittest

from harness import BIN, Instance, main, run, wait_for
from delivery_util import (send, spool_box, mbox_messages, parse, wait_count,
                           wait_log_re, write_aliases, mailq)


def transport_table(inst, text):
    """Write and build hash:ETC/transport, and name it in main.cf."""
    path = os.path.join(inst.etc, "transport")
    with open(path, "w") as f:
        f.write(text)
    run([os.path.join(BIN, "postmap"), "-c", inst.etc, "hash:" + path])
    inst.set_main({"transport_maps": "hash:" + path})


class TransportTest(unittest.TestCase):

    def test_discard_and_error(self):
        inst = Instance(self)
        sender = inst.add_user()
        write_aliases(inst, "postmaster: %s\n" % sender[0])
        transport_table(inst, "quiet.example discard:\n"
                              "gone.example error:5.1.1 this domain is gone\n"
                              "later.example error:4.7.0 closed until tomorrow\n")
        inst.start()
        send(inst, "%s@localhost" % sender[0],
             ["a@quiet.example", "b@gone.example", "c@later.example"], subject="routed")
        # discard: delivered, the next hop (the domain) as the text, logged by discard.
        wait_log_re(inst, r"postern/discard\[\d+\]: \w+: to=<a@quiet\.example>, relay=none, "
                          r".*dsn=2\.0\.0, status=sent \(quiet\.example\)")
        # error: bounced with the administrator's code and text.
        wait_log_re(inst, r"postern/error\[\d+\]: \w+: to=<b@gone\.example>, relay=none, "
                          r".*dsn=5\.1\.1, status=bounced \(this domain is gone\)")
        # error with a 4.x.x code: deferred, and waits in the queue.
        wait_log_re(inst, r"postern/error\[\d+\]: \w+: to=<c@later\.example>, relay=none, "
                          r".*dsn=4\.7\.0, status=deferred \(closed until tomorrow\)")
        msgs = wait_count(lambda: mbox_messages(spool_box(inst, sender[0])), 1, inst,
                          "the notification")
        dsn = parse(msgs[0].as_bytes())
        status = dsn.get_payload()[1].get_payload()
        rcpts = [b for b in status if b.get("Final-Recipient")]
        self.assertEqual(len(rcpts), 1, [dict(b) for b in rcpts])
        self.assertIn("b@gone.example", rcpts[0]["Final-Recipient"])
        self.assertEqual(rcpts[0]["Status"], "5.1.1")
        self.assertIn("this domain is gone", rcpts[0]["Diagnostic-Code"])
        wait_for(lambda: inst.queue_files("deferred"), 10, what="the deferred message")
        q = mailq(inst)
        self.assertIn("c@later.example", q)
        self.assertIn("closed until tomorrow", q)
        self.assertNotIn("a@quiet.example", q)

    def test_transport_without_a_service_waits(self):
        inst = Instance(self)
        transport_table(inst, "nowhere.example uucp:gateway\n")
        inst.start()
        send(inst, "x@example.org", "someone@nowhere.example", subject="no agent")
        wait_log_re(inst, r"postern/qmgr\[\d+\]: \w+: to=<someone@nowhere\.example>, "
                          r"relay=none, .*dsn=4\.3\.0, status=deferred \(mail transport "
                          r"unavailable: cannot connect to the uucp delivery agent "
                          r"\(private/uucp\)")
        wait_for(lambda: inst.queue_files("deferred"), 10, what="deferred/")
        self.assertIn("mail transport unavailable", mailq(inst))

    def test_a_transport_of_ones_own(self):
        # "drop" is the discard agent under another master.cf name, with
        # its own per-transport parameters.
        inst = Instance(self, main_cf={"drop_destination_recipient_limit": "2",
                                       "drop_destination_concurrency_limit": "1",
                                       "default_transport": "drop"})
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("drop             unix  -       -       y       -       -       discard\n")
        inst.start()
        rcpts = ["r%d@far.example" % i for i in range(5)]
        send(inst, "x@example.org", rcpts, subject="own transport")
        for r in rcpts:
            wait_log_re(inst, r"postern/discard\[\d+\]: \w+: to=<%s>, relay=none, .*"
                              r"status=sent \(far\.example\)" % r.replace(".", r"\."))
        wait_for(lambda: not inst.queue_files("active") and not inst.queue_files("deferred")
                 and not inst.queue_files("incoming"), 10, what="an empty queue")
        # postern check knows the per-transport names (no "unknown" note).
        out = inst.postern("check").stdout.decode()
        self.assertNotIn("drop_destination_recipient_limit", out)


if __name__ == "__main__":
    main()
