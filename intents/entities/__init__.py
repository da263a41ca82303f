"""Entities other than dates and times, as Rasa-style dicts: party size, resource type, ISBN,
title, author, topic (feelings) and event category.

`extract(text)` returns `{"entity", "value", "start", "end"}` dicts ordered by position, with
`start`/`end` indexing into the text as given and values normalised as intents/data/SPEC.md
says. Pure Python: no I/O; every pattern is compiled once, at import.

How it works: the text is folded (one width, lower case, simplified characters) one character
at a time, so the folded copy has the same length and every span found in it is a span of the
original. Titles are found first, because a title may say anything (《三体》, 《百年孤独》,
《三人行》): nothing else is taken from inside a title. Numbers are read with cn2an, but only
the number token itself; cn2an's whole-sentence `transform` would also rewrite 《三体》 as
《3体》.

Choices the catalogue leaves open, made here:
- Spans: a bracketed title's span includes its 《》, so that it is longer than any time the
  date extractor might read inside it (《三点半》); the value never has the brackets. Title and
  author values are the text as typed (NFKC: full-width letters folded), not simplified.
- Each (entity, value) pair is reported once, at its first mention; the evaluator compares
  sets, and a handler wants one topic, not three mentions of it.
- party_size: 「我和3个同学」 counts the speaker (4); 「我和同学」 without a number gives
  nothing. 「一个人」 gives 1 only after 我/就/只/共 (「我一个人」), so 「一个人好孤独」 stays
  quiet. 「3个座位」 and 「两个名额」 count as a party of 3 and 2. Ranges (五六个人, 十几个人)
  give nothing rather than a guess. Sizes above 500 are not party sizes.
- resource_type: a bare 座 is a seat unless part of 讲座/插座/座谈/星座/座机/在座/一座; 考研座
  and 考研自习室 are seats; a 3D影院/电影院/放映厅 is a cinema.
- isbn: a 13-digit ISBN anywhere (hyphens and spaces allowed) when stdnum says it is valid; an
  ISBN-10 only right after ISBN/书号, converted. A bare 10-digit number, a 12-digit student
  number or a phone number is never an ISBN.
- title: 《X》, 〈X〉, 书名(：/是/叫/space)X, 查书：X, …X这本书, (一本)书叫X. Unbracketed, the
  title ends at punctuation or a space before a Chinese word.
- author: X的《Y》, 作者(是/：/space)X, X写的, X的书/作品/小说, a name right next to a title
  (《围城》 钱钟书, 周志华《机器学习》), or 「X的Y」 where Y is then asked about (余华的活着
  还能借吗: also the title). Names are checked against a stop list (图书馆, 明天, 心理学,
  关于…), so 「心理学的书」 is a subject, not an author.
- topic: a keyword lexicon. Ambiguous words need context: 室友 only with a conflict word
  (吵, 矛盾, 相处, 关系…), 紧张 not after 座位/资源/名额/时间 (and 关系紧张 is relationships),
  X得慌 is an intensifier (饿得慌), not anxiety, 新生 is adaptation only in a sentence that also
  carries a feeling, 走了/没了/不在了 are grief only after a relative or a pet.
- category: 展 alone is an exhibition unless part of 发展/开展/展开/展示…; a category word inside a
  resource name (电影厅, 放映厅) is the resource, not the category.

The package, lowest module first (each imports only the ones above it):
- spans: folding one character for one, the entity dicts, spans and their original text
- numbers: `chinese_number`, one number token to an int
- titles: 《X》, 书名：X, X这本书 …
- authors: 作者是X, X写的, X的《Y》 …, and the titles 「X的Y」 asks about
- isbn: ISBN-13 and ISBN-10 through stdnum
- party_size: 我和3个同学, 5个人, 我们仨 …
- lexicons: keyword lexicons for resource types, topics (feelings) and event categories
- extractor: `extract`, which gathers them and settles overlaps
"""

from __future__ import annotations

from intents.entities.extractor import extract
from intents.entities.numbers import chinese_number

__all__ = ["chinese_number", "extract"]
