"""rnncourse.vocab.Vocab: the one vocabulary of the language models and of seq2seq."""

import numpy as np
import pytest

from rnncourse import seq2seq, tasks
from rnncourse.vocab import SPECIALS, Vocab


def test_one_class_serves_both_uses():
    assert tasks.Vocab is Vocab and seq2seq.Vocab is Vocab
    lm = Vocab("banana")  # sorted distinct characters, no specials
    assert lm.itos == ["a", "b", "n"] and lm.encode("nab").tolist() == [2, 0, 1]
    s2s = Vocab("0123456789-", specials=SPECIALS, sort=False)  # order kept after the specials
    assert s2s.itos[:4] == ["<pad>", "<s>", "</s>", "0"] and s2s.stoi["-"] == 13
    ids = s2s.encode("12-3", eos=True)
    assert ids.dtype == np.int64 and ids[-1] == seq2seq.EOS and s2s.decode(ids) == "12-3"
    assert s2s.decode([seq2seq.SOS, s2s.stoi["4"], seq2seq.PAD, seq2seq.EOS, s2s.stoi["5"]]) == "4"
    assert seq2seq.reversal_task(2, 3).src_vocab.itos == list(SPECIALS) + list("0123456789")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="text: expected distinct characters"):
        Vocab("aab", sort=False)
    with pytest.raises(TypeError, match="sort: expected a bool"):
        Vocab("ab", sort="no")
    with pytest.raises(TypeError, match="specials: expected a sequence of token strings"):
        Vocab("ab", specials="<pad>")
    with pytest.raises(ValueError, match="eos: this vocabulary has no '</s>' token"):
        Vocab("ab").encode("a", eos=True)
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        Vocab("ab").encode("abz")
    with pytest.raises(ValueError, match=r"ids: expected ids in \[0, 2\)"):
        Vocab("ab").decode([0, 2])
