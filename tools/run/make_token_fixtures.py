#!/usr/bin/env python3
"""make_token_fixtures.py — writes tests/data/gemma3_tokens.tsv: for a set of strings,
the token ids Hugging Face transformers gives them with the tokenizer it builds from
the Gemma 3 270M GGUF (tools/run/get-gemma3-270m.sh). Optional tooling, never part of
the build; needs transformers, gguf, sentencepiece and protobuf from PyPI:

    python3 -m venv /tmp/hf && /tmp/hf/bin/pip install torch transformers gguf sentencepiece protobuf
    /tmp/hf/bin/python tools/run/make_token_fixtures.py build/models/gemma-3-270m-q4_k_m.gguf

One line per string: its UTF-8 bytes in hex, a tab, the ids (BOS first) separated by
spaces."""
import os
import sys

from transformers import AutoTokenizer

STRINGS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "  two  spaces",
    "   three leading spaces",
    "trailing spaces   ",
    "tab\tseparated\tvalues",
    "line1\nline2\n\nline4",
    "\n\n\n",
    "数字 123456 and émojis 🙂",
    "Ünïcödé: naïve café, Straße, Ελληνικά, русский, עברית, العربية, हिन्दी",
    "日本語のテキストとカタカナ",
    "3.14159 + 2.71828 = 5.85987; 1,000,000 and 10^6",
    "def f(x):\n    return x ** 2  # square\n",
    "int main(void) { printf(\"%d\\n\", 42); }",
    "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
    "<bos> in the middle",
    "https://example.com/path?query=1&other=two#frag",
    "ALL CAPS AND MiXeD cAsE",
    "a",
    " ",
    "😀😃😄😁 🤖🧠",
    "\u2581 literal lower one eighth block",
    "Zero\u200bwidth and non\u00a0breaking spaces",
    "Sliding-window attention keeps the last W tokens of every layer in a rolling buffer.",
]


def main(model, out):
    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(model)),
                                        gguf_file=os.path.basename(model))
    with open(out, "w") as f:
        for s in STRINGS:
            ids = tok(s)["input_ids"]
            f.write(s.encode("utf-8").hex() + "\t" + " ".join(map(str, ids)) + "\n")
    print(f"{out}: {len(STRINGS)} strings")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "tests/data/gemma3_tokens.tsv")
