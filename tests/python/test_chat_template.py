#!/usr/bin/env python3
"""tern's chat templates against jinja2 (PyPI) in the environment Hugging Face transformers renders them with.

Every template (SmolLM2's from its GGUF, Llama 3's from ../shared/tokenizers/llama3, and the hand-written ones
in tests/data/chat_templates covering every construct tern supports) is rendered for several multi-turn
conversations, with and without the generation prompt, by `tern template` and by jinja2: the bytes must be
equal, and where jinja2 raises, tern must fail with one line carrying the same message. Unsupported constructs
must be refused by name when the template is loaded.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

import jinja2
import jinja2.ext
import jinja2.sandbox

ARGS = None
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "data", "chat_templates")


def hf_environment():
    """What transformers' _compile_jinja_template builds (its tojson, raise_exception and globals)."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather at a place",
                                           "parameters": {"type": "object", "properties": {
                                               "city": {"type": "string"}, "days": {"type": "integer"}},
                                               "required": ["city"]}}}]
CONVERSATIONS = {
    "system_multi_turn": [
        {"role": "system", "content": "  You are terse.\n"},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "no_system": [
        {"role": "user", "content": "Tell me a story."},
        {"role": "assistant", "content": "Once upon a time..."},
        {"role": "user", "content": "Go on"},
    ],
    "unicode_and_quotes": [
        {"role": "system", "content": "Réponds en français — 日本語も OK"},
        {"role": "user", "content": "He said \"don't\"\nthen left\t{{ not a tag }} {% raw %}"},
    ],
    "tools": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21}"},
        {"role": "assistant", "content": "It is 21 degrees."},
    ],
    "roles_do_not_alternate": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
    "empty": [],
}


def templates():
    out = {}
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith(".jinja"):
            with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
                out[name[:-6]] = (f.read(), "<s>", "</s>")
    with open(os.path.join(ARGS.shared, "tokenizers", "llama3", "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    out["llama3"] = (cfg["chat_template"], cfg["bos_token"], cfg["eos_token"])
    if os.path.exists(ARGS.smollm2):
        import gguf
        field = gguf.GGUFReader(ARGS.smollm2).fields["tokenizer.chat_template"]
        out["smollm2"] = (bytes(field.parts[field.data[0]]).decode("utf-8"), "<|im_start|>", "<|im_end|>")
    else:
        print(f"note: {ARGS.smollm2} absent (scripts/setup.sh fetches it): SmolLM2's template not checked")
    return out


def tern(*args, stdin=None):
    return subprocess.run([ARGS.tern, *args], input=stdin, capture_output=True, timeout=60)


class MatchesJinja2(unittest.TestCase):
    def test_every_template_and_conversation(self):
        env = hf_environment()
        checked = 0
        for tname, (source, bos, eos) in templates().items():
            path = os.path.join(ARGS.tmp, f"tmpl_{tname}.jinja")
            with open(path, "w", encoding="utf-8") as f:
                f.write(source)
            compiled = env.from_string(source)
            for cname, messages in CONVERSATIONS.items():
                for gen in (True, False):
                    ctx = {"messages": messages, "add_generation_prompt": gen, "bos_token": bos, "eos_token": eos}
                    if cname == "tools":
                        ctx["tools"] = TOOLS
                    with self.subTest(template=tname, conversation=cname, add_generation_prompt=gen):
                        try:
                            want, error = compiled.render(**ctx), None
                        except jinja2.exceptions.TemplateError as e:
                            want, error = None, str(e)
                        except Exception as e:  # e.g. indexing an empty list
                            want, error = None, type(e).__name__
                        r = tern("template", "--template", path, "--messages", "-",
                                 stdin=json.dumps(ctx).encode())
                        if error is None:
                            self.assertEqual(r.returncode, 0, r.stderr.decode())
                            self.assertEqual(r.stdout.decode("utf-8"), want)
                        else:
                            self.assertEqual(r.returncode, 1, f"jinja2 raised {error!r}; tern printed {r.stdout!r}")
                            lines = r.stderr.decode().strip().splitlines()
                            self.assertEqual(len(lines), 1, r.stderr)
                            self.assertIn(path, lines[0])
                            if cname == "roles_do_not_alternate":
                                self.assertIn(error, lines[0])
                        checked += 1
        self.assertGreaterEqual(checked, 48)

    def test_model_template_from_gguf(self):
        if not os.path.exists(ARGS.smollm2):
            self.skipTest(f"{ARGS.smollm2} absent")
        messages = CONVERSATIONS["system_multi_turn"]
        r = tern("template", ARGS.smollm2, "--messages", "-", stdin=json.dumps(messages).encode())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        source, _, _ = templates()["smollm2"]
        want = hf_environment().from_string(source).render(messages=messages, add_generation_prompt=True,
                                                             bos_token="<|im_start|>", eos_token="<|im_end|>")
        self.assertEqual(r.stdout.decode(), want)


class CheckpointDirectory(unittest.TestCase):
    def test_template_from_tokenizer_config_survives_export(self):
        src = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")
        d = os.path.join(ARGS.tmp, "ct_checkpoint")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name in os.listdir(src):
            if name != "tokenizer_config.json":
                shutil.copy(os.path.join(src, name), os.path.join(d, name))
        with open(os.path.join(src, "tokenizer_config.json")) as f:
            cfg = json.load(f)
        source, _, _ = templates()["tools"]
        cfg["chat_template"] = source
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f)
        messages = json.dumps(CONVERSATIONS["system_multi_turn"]).encode()
        from_dir = tern("template", d, "--messages", "-", "--bos", "<s>", "--eos", "</s>", stdin=messages)
        self.assertEqual(from_dir.returncode, 0, from_dir.stderr.decode())
        want = hf_environment().from_string(source).render(messages=CONVERSATIONS["system_multi_turn"],
                                                             add_generation_prompt=True, bos_token="<s>",
                                                             eos_token="</s>")
        self.assertEqual(from_dir.stdout.decode(), want)
        out = os.path.join(ARGS.tmp, "ct_export")
        r = tern("export", d, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        from_gguf = tern("template", os.path.join(out, "clean-f16.gguf"), "--messages", "-", "--bos", "<s>",
                         "--eos", "</s>", stdin=messages)
        self.assertEqual(from_gguf.stdout, from_dir.stdout)


class Refused(unittest.TestCase):
    def refuse(self, source, *fragments):
        path = os.path.join(ARGS.tmp, "tmpl_bad.jinja")
        with open(path, "w") as f:
            f.write(source)
        r = tern("template", "--template", path, "--messages", "-", stdin=b"[]")
        self.assertEqual(r.returncode, 1, r.stdout)
        lines = r.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for frag in (path, *fragments):
            self.assertIn(frag, lines[0])

    def test_unsupported_tag(self):
        self.refuse("a\n{% include 'other.jinja' %}", "line 2", "unsupported tag", "include")

    def test_unsupported_filter(self):
        self.refuse("{{ messages | wordwrap(3) }}", "unsupported filter 'wordwrap'")

    def test_unsupported_test(self):
        self.refuse("{{ 1 is prime }}", "unsupported test 'prime'")

    def test_unterminated(self):
        self.refuse("{% for m in messages %}{{ m", "unterminated tag")
        self.refuse("{% if x %}never closed", "missing {% endif %}")

    def test_runaway_recursion(self):
        self.refuse("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "deeper than 100")

    def test_runaway_output(self):
        self.refuse("{% for i in range(65536) %}{{ 'x' * 2000 }}{% endfor %}", "exceeds 64 MiB")
        self.refuse("{% for i in range(65536) %}{% for j in range(65536) %}{% endfor %}{% endfor %}", "too long")
        self.refuse("{{ range(100000) | length }}", "longer than 65536")
        self.refuse("{{ " + "(" * 100 + "1" + ")" * 100 + " }}", "nested deeper than 64")

    def test_integer_overflow(self):
        # Python's integers are unbounded; tern's are 64-bit and refuse to wrap (the fuzzer found 2 ** 102).
        self.refuse("{{ 2 ** 102 }}", "integer overflow in **")
        self.refuse("{{ 9223372036854775807 + 1 }}", "integer overflow in +")
        self.refuse("{{ 4294967296 * 4294967296 }}", "integer overflow in *")

    def test_attribute_of_undefined(self):
        self.refuse("{{ nothing.content }}", "'nothing' is undefined")


if __name__ == "__main__":
    import cli_test_main
    cli_test_main.run(sys.modules[__name__], smollm2=True)
