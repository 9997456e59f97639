"""The dictionary matcher, TF-IDF keywords and the jieba segmenter."""

from __future__ import annotations

from bot.core.tagging import (
    USER_DICT,
    Matcher,
    default_idf,
    get_tokenizer,
    read_user_dict,
    segment,
    stop_words,
    tfidf_keywords,
)


def test_matcher_finds_every_occurrence_including_overlaps() -> None:
    matcher = Matcher(["河涌", "发臭", "河涌发臭", "臭"])
    assert matcher.find("河涌发臭,另一条河涌也发臭") == {
        "河涌": 2,
        "发臭": 2,
        "河涌发臭": 1,
        "臭": 2,
    }


def test_matcher_on_empty_or_unrelated_text_finds_nothing() -> None:
    matcher = Matcher(["河涌"])
    assert matcher.find("") == {}
    assert matcher.find("路灯坏了") == {}


def test_keywords_rank_by_tfidf_and_skip_stop_words() -> None:
    idf = {"河涌": 8.0, "垃圾": 4.0, "问题": 1.0}
    counts = {"河涌": 1, "垃圾": 3, "问题": 5}
    keywords = tfidf_keywords(counts, idf, default_idf=5.0)
    assert [k.word for k in keywords] == ["垃圾", "河涌"]
    assert keywords[0].weight == 1.0
    assert keywords[1].weight == round(8 / 12, 3)
    assert "问题" in stop_words()


def test_keywords_prefer_the_longer_word_that_contains_a_shorter_one() -> None:
    idf = {"河涌发臭": 9.0, "河涌": 8.0}
    keywords = tfidf_keywords({"河涌发臭": 1, "河涌": 1}, idf, default_idf=5.0)
    assert [k.word for k in keywords] == ["河涌发臭"]


def test_words_outside_the_idf_count_only_when_allowed() -> None:
    assert tfidf_keywords({"握手楼": 1}, {}, default_idf=5.0) == []
    kws = tfidf_keywords({"握手楼": 1}, {}, default_idf=5.0, extra=["握手楼"])
    assert [k.word for k in kws] == ["握手楼"]


def test_shipped_idf_table_is_readable() -> None:
    table, median = default_idf()
    assert len(table) > 1000
    assert median > 0


def test_jieba_is_a_singleton_with_the_user_dictionary() -> None:
    assert get_tokenizer() is get_tokenizer()
    words = segment("城中村握手楼加建，三线整治没完成")
    assert "握手楼" in words
    assert "三线整治" in words
    assert all(w.strip() for w in words)


def test_segment_normalises_first_and_handles_empty_text() -> None:
    assert "水淹街" in segment("水浸街")
    assert segment("！！！") == []
    assert segment("") == []


def test_user_dictionary_holds_the_guangdong_terms() -> None:
    words = {w for w, _, _ in read_user_dict(USER_DICT)}
    for term in [
        "百千万工程",
        "河涌",
        "黑臭水体",
        "欠薪",
        "长者饭堂",
        "高空抛物",
        "电动自行车充电",
    ]:
        assert term in words
