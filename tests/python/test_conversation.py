#!/usr/bin/env python3
"""`tern run -cnv` driven through a pseudo-terminal, as a person would use it, on SmolLM2 (greedy).

Each reply must be the greedy continuation `tern run -f` gives for the same conversation rendered by
`tern template` (so the KV-cache reuse across turns changes nothing), Ctrl-C must stop a reply and leave the
session usable, and /exit must end it with exit code 0. Also the prompt-input options of `tern run`.
"""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import unittest

ARGS = None


def tern(*args, stdin=None):
    return subprocess.run([ARGS.tern, *args], input=stdin, capture_output=True, timeout=300)


class Pty:
    def __init__(self, *args):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([ARGS.tern, *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        self.buffer = b""

    def read_until(self, marker, timeout=120):
        deadline = time.time() + timeout
        while marker not in self.buffer:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {marker!r} within {timeout} s; got {self.buffer!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.buffer += os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"tern exited before {marker!r}; got {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def send(self, text):
        os.write(self.master, text.encode())


def reference_reply(messages, n):
    """The greedy reply of `tern run -f` for the conversation as `tern template` renders it."""
    conv = os.path.join(ARGS.tmp, "cnv_messages.json")
    with open(conv, "w") as f:
        json.dump(messages, f)
    t = tern("template", ARGS.smollm2, "--messages", conv)
    assert t.returncode == 0, t.stderr
    prompt = os.path.join(ARGS.tmp, "cnv_prompt.txt")
    with open(prompt, "wb") as f:
        f.write(t.stdout)
    r = tern("run", "-m", ARGS.smollm2, "-f", prompt, "--temp", "0", "-n", str(n), "-t", "2")
    assert r.returncode == 0, r.stderr
    rendered = t.stdout.decode()
    out = r.stdout.decode()
    assert out.startswith(rendered), (out, rendered)
    return out[len(rendered):].rstrip("\n")


class Conversation(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(ARGS.smollm2):
            self.skipTest(f"{ARGS.smollm2} absent (scripts/setup.sh fetches it)")

    def test_turns_ctrl_c_and_exit(self):
        s = Pty("run", ARGS.smollm2, "-cnv", "--temp", "0", "-n", "48", "-t", "2", "-sys", "You are a geography tutor.")
        try:
            s.read_until(b"> ")
            messages = [{"role": "system", "content": "You are a geography tutor."}]
            for question in ("What is the capital of France?", "And of Germany?"):
                s.send(question + "\n")
                out = s.read_until(b"\r\n> ").decode()
                reply = out.split("\r\n", 1)[1].strip("\r\n")  # after the echoed question
                messages.append({"role": "user", "content": question})
                self.assertEqual(reply, reference_reply(messages, 48).replace("\n", "\r\n"))
                messages.append({"role": "assistant", "content": reply.replace("\r\n", "\n")})
            # Ctrl-C while a long reply streams stops it, and the session goes on.
            s.send("Write a very long story about the rivers of Europe.\n")
            s.read_until(b"Europe.\r\n")
            s.read_until(b" ")  # the reply has started
            s.proc.send_signal(signal.SIGINT)
            self.assertIn(b"[stopped]", s.read_until(b"\r\n> "))
            s.send("/exit\n")
            self.assertEqual(s.proc.wait(timeout=60), 0)
            self.assertIn(b"conversation: 3 turns", s.proc.stderr.read())
        finally:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
            s.proc.stderr.close()
            os.close(s.master)

    def test_piped_conversation(self):
        r = tern("run", "-m", ARGS.smollm2, "-cnv", "--temp", "0", "-n", "24", "-t", "2",
                 stdin=b"What is the capital of France?\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Paris", r.stdout.decode())

    def test_model_without_template(self):
        packed = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")
        r = tern("run", packed, "-cnv", stdin=b"hi\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no tokenizer.chat_template", r.stderr.decode())


class PromptInput(unittest.TestCase):
    def test_stdin_file_and_positional_model(self):
        packed = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")
        want = tern("run", "-m", packed, "-p", "Once upon a time", "--temp", "0", "-n", "16")
        self.assertEqual(want.returncode, 0, want.stderr)
        piped = tern("run", packed, "--temp", "0", "-n", "16", stdin=b"Once upon a time")
        self.assertEqual(piped.stdout, want.stdout)
        path = os.path.join(ARGS.tmp, "prompt.txt")
        with open(path, "w") as f:
            f.write("Once upon a time")
        from_file = tern("run", packed, "-f", path, "--temp", "0", "-n", "16")
        self.assertEqual(from_file.stdout, want.stdout)

    def test_conflicting_options(self):
        packed = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")
        for args, frag in ((["-p", "a", "-f", "b"], "not both"), (["-cnv", "-p", "a"], "drop -p"),
                           (["-sys", "x", "-p", "a"], "needs -cnv")):
            r = tern("run", packed, *args)
            self.assertEqual(r.returncode, 1, args)
            self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)
            self.assertIn(frag, r.stderr.decode())


class Sampling(unittest.TestCase):
    packed = property(lambda self: os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed"))

    def run_packed(self, *extra):
        return tern("run", self.packed, "-p", "Once upon a time", "--temp", "0", "-n", "40", *extra)

    def test_stop_string_ends_the_text_before_it(self):
        full = self.run_packed().stdout.decode()
        self.assertIn(" girl", full)
        cut = self.run_packed("--stop", " girl", "--stop", "never-there").stdout.decode()
        self.assertEqual(cut, full[:full.index(" girl")] + "\n")

    def test_penalties_change_greedy_text(self):
        self.assertNotEqual(self.run_packed("--repeat-penalty", "3").stdout, self.run_packed().stdout)
        self.assertEqual(self.run_packed("--repeat-penalty", "3", "--repeat-last-n", "0").stdout,
                         self.run_packed().stdout)

    def test_out_of_range_values(self):
        for opt, value in (("--min-p", "1.5"), ("--repeat-penalty", "0"), ("--repeat-penalty", "nan"),
                           ("--presence-penalty", "3"), ("--frequency-penalty", "-9"), ("--repeat-last-n", "-2"),
                           ("--stop", ""), ("--top-p", "2"), ("--temp", "-1")):
            r = tern("run", self.packed, "-p", "x", opt, value)
            self.assertEqual(r.returncode, 1, (opt, value))
            lines = r.stderr.decode().strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(opt.lstrip("-"), lines[0])

    def test_version(self):
        r = tern("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^tern \d+\.\d+\.\d+ \(")


if __name__ == "__main__":
    import cli_test_main
    cli_test_main.run(sys.modules[__name__], smollm2=True)
