"""Urgency as a life-safety detector: is someone's life or safety at risk right now?

Observers rarely write the official word (火灾, 燃气泄漏, 险情). They write what they see: a
six-year-old not found since the afternoon, an old man nobody has seen for three days, sparks
from a high-voltage line, a crack opening in the hillside above a dozen houses, a dyke
leaking, dead pigs in the river, a man with a knife. The detector reads the normalised text
(:func:`bot.core.text.normalise`, so Cantonese, Hakka and Teochew wording is already Mandarin)
for such *signals*, grouped in families:

- people at risk: missing (走失, 孩子找不到, 联系不上), not seen for days, trapped, drowning,
  badly hurt (昏迷, 流血不止), an ambulance that has not come;
- fire and smoke; gas leaks; electricity (sparks, fallen or broken lines, electric shock);
- structural failure (about to collapse, collapsed) and slope failure (cracks, slides);
- flood and dyke (breach, piping, water into homes); epidemics and animal disease (several
  people ill at once, bird flu, dead pigs); violence and self-harm.

A signal does not count when, in its own clause,

- it is negated just before (没有着火, 未发现漏气, 防溺水);
- it is clearly past (去年塌过方, 上周有小孩溺水, 以前发生过火灾);
- it is a drill, training or a hazard only (消防演练, 火灾隐患);
- or it is resolved just after (着火了，已经扑灭; 阿婆跌倒，冇事 -> 没事).

Every signal has a short reason code; the message catalogue names it for people (section
``urgency``: ``missing`` -> 人员失联, ``slope_crack`` -> 山体开裂). Each family also names the
department that usually answers it, which the router uses as a hint. Everything here is a pure
function of the text; each signal is a regular expression compiled once, tried only when the
text holds one of its anchor words (``ANCHORS``), which the router finds in its dictionary pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.core.messages import catalogue

# Clause boundaries: a signal's negation, past marker or drill word must be in its clause.
_BOUNDARY = re.compile(r"[,.!?;:，。！？；：、\n]")
_GAP = r"[^,.!?;，。！？；]{0,%d}?"

_PEOPLE = (
    r"(?:小孩|孩子|儿子|女儿|小朋友|学生|老人|老伯|大爷|奶奶|爷爷|阿姨|村民|男子|女子|男孩|女孩"
    r"|妇女|孕妇|病人|患者|工人|一家人|母子|父亲|母亲|爸爸|妈妈|阿爸|阿妈|老公|老婆|丈夫|妻子"
    r"|孙仔|孙女|孙子|孩子囝|孥|后生|阿叔|阿婶|阿公|阿婆|阿伯|阿嬷|阿爷|阿奶|外婆|外公|公公|婆婆"
    r"|老太|细路|小孩子|渔船|船上|他|她|[一二三四五六七八九十\d]+岁)"
)
_NUMBER_OF_DAYS = (
    r"(?:[两三四五六七八九十\d]+|几|好几|多|十几)(?:天|日)"
    r"|(?:一|两|成|整|一个|整个|成个|几个)(?:星期|礼拜|周)"
)
_STRUCTURE = r"(?:墙|楼|房|屋|围墙|挡土墙|天花板|楼板|阳台|桥|桥墩|桥面|棚|屋顶|脚手架|棚架)"
_LINE = r"(?:高压线|电线|电缆|线路|变压器|电箱|电表箱|电线杆|电杆)"
_ANIMALS = r"(?:猪|鸡|鸭|鹅|牛|羊)"
_ILLNESS = r"(?:发烧|发高烧|发热|腹泻|呕吐|都呕|上吐下泻|中毒|感染|确诊)"

# (reason code, family, department hint, pattern, context). A signal with a context counts
# only when the context is found within CONTEXT_BEFORE characters before it (or CONTEXT_AFTER
# after): patterns start with their rarer words, which keeps the one regex fast.
SIGNALS: tuple[tuple[str, str, str | None, str, str | None], ...] = (
    (
        "missing",
        "people",
        "public_security",
        r"走失|(?<!老板)(?<!法人)(?<!老赖)(?<!玩)(?:失踪|失联)|人不见了",
        None,
    ),
    (
        "missing",
        "people",
        "public_security",
        r"找不到(?!人看|人帮|人管|工作|地方)|不见了|联系不上|联系不到|失去联系|没有?回家|没有?回来"
        r"|没有?转来|没有?(?:回|转|返)(?:屋家|屋里|家里|屋企)|走丢|没看到|没见到|看不到人|找遍"
        r"|见不到人",
        _PEOPLE,
    ),
    (
        "unseen",
        "people",
        "public_security",
        r"(?:没有?|不)(?:见|看到|看见|见到|出门|露面|开门|出来)",
        _NUMBER_OF_DAYS,
    ),
    (
        "trapped",
        "people",
        "emergency",
        r"被困|困在|困住|困了(?:人|[一两几\d])|被埋|埋在下面|压在下面|被压住"
        r"|压住了?(?:人|两|一个|个|工人|老人)|卷进|电梯"
        + _GAP % 12
        + r"(?:卡了|卡在|卡住|停在|困)[^。！？!?]{0,16}?"
        + r"(?:有人|有个|有两|有几|里面有|入面有)",
        None,
    ),
    (
        "drowning",
        "people",
        "emergency",
        r"溺水|落水(?!就|天|后|时|的时候)|落了水|跌落(?:水|河|海|塘|涌)|淹死|水冲走|冲走了|淹落|翻船"
        r"|艇翻|船翻|掉下去|没(?:有)?浮(?:起来|上来|返上来)|沉了下去|浮不起来"
        r"|掉(?:进|到|入)了?(?:河|水|塘|海|江|井|湖|鱼塘|水库|涌)",
        None,
    ),
    (
        "injured",
        "people",
        None,
        r"流血|出血|好多血|都是血|满身血|昏迷|不省人事|晕倒|晕了|倒地不起|倒在地上|倒在地下"
        r"|倒了在地下|躺在地下|躺在地上|重伤|伤得很重|没有?呼吸|没气了|呼吸困难|呼吸都困难"
        r"|喘不过气|中风|抽筋|站不起来|爬不起来|爬毋起来|半边身"
        r"|抽搐|口吐白沫|头破血流|血流不止|满地血|满头血|喊救命|叫救命|救命啊|没(?:有)?反应|叫不醒|晕倒"
        r"|摔倒" + _GAP % 6 + r"(?:起不来|不能动|动不了)",
        None,
    ),
    (
        "ambulance",
        "people",
        "health",
        r"救护车" + _GAP % 10 + r"(?:没来|还没到|没到|未到|没有来|没有到|迟迟|叫不到|打不通|要等"
        r"|进不来|来不了)|(?:120|急救电话)"
        + _GAP
        % 10
        + r"(?:打不通|没来|没人接|要等|没有到|未到|还没到"
        r"|都没到|还没来|都没来)",
        None,
    ),
    (
        "fire",
        "fire",
        "emergency",
        r"着火|着了火|烧着了|起火|失火|火灾|烧起来|浓烟|火光|明火|山火|火势|大火|爆炸|炸伤",
        None,
    ),
    ("fire", "fire", "emergency", r"冒烟", r"屋|房|楼|厨房|车|电|线|仓库|厂|店|铺"),
    ("power", "power", "emergency", r"火花", r"电|线|变电站|电缆|电箱"),
    (
        "gas",
        "gas",
        "emergency",
        r"燃气泄漏|煤气泄漏|燃气泄露|煤气泄露|漏气|煤气味|燃气味|天然气味|液化气味"
        r"|闻到" + _GAP % 4 + r"(?:煤气|燃气|天然气)",
        None,
    ),
    (
        "power",
        "power",
        "emergency",
        rf"{_LINE}{_GAP % 8}(?:火花|打火|冒火|冒烟|着火|断了|断落|掉落|掉下|掉在|垂下|垂到|拖地"
        r"|落地|漏电|烧了|爆了|倒了|裸露)|触电|漏电|电死|火花四溅"
        rf"|(?:压住|压着|压到|搭在|挂住|挂在)了?(?:条|根)?{_LINE}",
        None,
    ),
    (
        "collapse",
        "structure",
        "housing",
        r"(?:随时|马上|快要|眼看|就要)(?:会|要|可能)?(?:倒塌|倒|塌|垮|坍塌|塌下来|掉下来)|摇摇欲坠"
        rf"|{_STRUCTURE}{_GAP % 6}(?:倒塌|坍塌|塌了|塌下来|垮了|倾斜|下沉|倒了|跌了落来|掉下来"
        r"|推倒|斜了|歪了|冲空|掏空|掉砖)|承重(?:墙|柱|梁)" + _GAP % 6 + r"(?:打掉|拆|凿|开裂|裂)"
        r"|倒塌|坍塌|垮塌|塌陷|快跌落来",
        None,
    ),
    (
        "slope_crack",
        "slope",
        "natural_resources",
        r"开裂|裂缝|裂开|松动|裂了",
        r"山|坡",
    ),
    (
        "landslide",
        "slope",
        "natural_resources",
        r"山体滑坡|滑坡|泥石流|泥石|塌方|落石|掉石头|滚石|崩塌|山泥|山裂|(?:山|坡)(?:崩|塌|垮)"
        r"|坡顶" + _GAP % 6 + r"裂",
        None,
    ),
    (
        "dyke",
        "flood",
        "water",
        r"决堤|溃堤|决口|溃坝|管涌"
        r"|(?:河堤|堤坝|堤围|水坝|大坝|水库|堤|陂)" + _GAP % 10 + r"(?:崩|垮|缺口|漫|塌|漏水|渗水)"
        r"|漫过堤",
        None,
    ),
    (
        "flood",
        "flood",
        "water",
        r"洪水|山洪|被水围困|水位暴涨|入了村|进了村|涌入村|涌进村"
        r"|水淹(?:进|到)(?:屋|家|房|一楼|腰|膝|胸)"
        r"|水(?:已经)?(?:漫|淹|浸)(?:进|到)(?:屋|家|房|腰|胸|一楼|二楼|三楼|床|楼上)",
        None,
    ),
    (
        "epidemic",
        "epidemic",
        "health",
        r"食物中毒|农药中毒|中毒|霍乱|疫情(?:暴发|爆发|扩散)|狂犬病",
        None,
    ),
    (
        "epidemic",
        "epidemic",
        "health",
        _ILLNESS,
        r"集体|个个|一半|全班|一班|成班|整班|(?:多|几|好几|十几|几十|几百|好多|很多|一群|一家)(?:个|名)?"
        r"(?:人|学生|孩子|小孩|小朋友|儿童|村民|工人|员工|老人)",
    ),
    (
        "animal_disease",
        "epidemic",
        "agriculture",
        r"禽流感|鸡瘟|非洲猪瘟|猪瘟|口蹄疫|(?<!卖)病死猪(?!肉)|(?<!卖)病死鸡"
        rf"|死了(?:很多|好多|一大批|一批|几十|上百|\d+)(?:头|只)?{_ANIMALS}"
        rf"|{_ANIMALS}{_GAP % 4}(?:大量|成批)?死(?:了|晒|光|亡|[一二三四五六七八九十几百\d])",
        None,
    ),
    (
        "violence",
        "violence",
        "public_security",
        r"持刀|拿刀|砍人|捅人|行凶|打架|斗殴|打人|杀人|要杀|扬言要|威胁要|恐吓|绑架|劫持|家暴"
        r"|殴打|围殴|群殴|械斗|(?:拎住|拿住|拿着|揸住|举着|提着)(?:把|一把)?(?:刀|菜刀|锄头|铁棍)"
        r"|拿锄头|拎刀|打起来|打起架|砸头|砸伤|拿酒瓶|(?:拎住|拿着|拿住|提着|带着)(?:棍|木棍|铁棍|棒)"
        r"|追着打|追住打|追住斩|追着砍|斩人|要打他|要打她|打到头|拍到头",
        None,
    ),
    (
        "self_harm",
        "violence",
        "public_security",
        r"要跳楼|跳楼|轻生|自杀|寻死|喝农药|上吊|往下跳|不想活",
        None,
    ),
    ("life", "life", None, r"生命危险|危及生命|出人命|人命关天|等救|等人救|求救", None),
    (
        "gas",
        "gas",
        "emergency",
        r"泄漏|泄露|漏了",
        r"化工|化学|有毒|毒气|氨|氯|气体|罐|液化|眼睛痛|喉咙痛|头晕",
    ),
    (
        "trapped",
        "people",
        "emergency",
        r"(?:池|井|窖|罐|坑|舱)(?:里|下|底|内|中)?[^。！？!?]{0,16}?"
        r"(?:晕|不应|没应|没反应|没有反应|没上来|没有上来|没出来|倒下|没动静)",
        r"化粪池|污水池|沼气池|粪池|窨井|地窖|储罐|井下|池底|船舱|污水井|下水井|水池",
    ),
)

# Words one of which every match of a signal holds (same order as SIGNALS). The router scans
# for them with its own dictionary pass and asks only the signals whose words it found.
ANCHORS: tuple[tuple[str, ...], ...] = (
    ("走失", "失踪", "失联", "人不见了"),
    (
        *("找不到", "不见了", "联系不上", "联系不到", "失去联系", "回家", "回来", "转来", "走丢"),
        *("没看到", "没见到", "看不到人", "见不到人", "找遍", "屋家", "屋里", "家里", "屋企"),
    ),
    (
        *("没见", "没看", "没出门", "没露面", "没开门", "没出来", "没有见", "没有看", "没有出"),
        *("没有露", "没有开", "不见", "不看", "不出门", "不露面", "不开门", "不出来"),
    ),
    (
        "被困",
        "困在",
        "困住",
        "困了",
        "被埋",
        "埋在下面",
        "压在下面",
        "被压住",
        "压住",
        "卷进",
        "电梯",
    ),
    (
        *("溺水", "落水", "淹死", "冲走", "掉进", "掉到", "掉入", "淹落", "翻船", "艇翻", "船翻"),
        *("掉下去", "落了水", "跌落", "浮起来", "浮上来", "浮返上来", "沉了下去", "浮不起来"),
    ),
    (
        *("流血", "出血", "好多血", "都是血", "满身血", "昏迷", "不省人事", "晕倒", "晕了"),
        *("倒地不起", "倒在地上", "倒在地下", "倒了在地下", "躺在地下", "躺在地上", "重伤"),
        *("伤得很重", "没呼吸", "没有呼吸", "没气了", "呼吸困难", "呼吸都困难", "喘不过气"),
        *("中风", "抽筋", "站不起来", "爬不起来", "爬毋起来", "半边身", "抽搐", "口吐白沫"),
        *("摔倒", "头破血流", "血流不止", "满地血", "满头血", "喊救命", "叫救命", "救命啊"),
        *("没反应", "没有反应", "叫不醒", "晕倒"),
    ),
    ("救护车", "120", "急救电话"),
    (
        *("着火", "着了火", "烧着了", "起火", "失火", "火灾", "烧起来", "浓烟", "火光", "明火"),
        *("山火", "火势", "大火", "爆炸", "炸伤"),
    ),
    ("冒烟",),
    ("火花",),
    (
        *("燃气泄漏", "煤气泄漏", "燃气泄露", "煤气泄露", "漏气", "煤气味", "燃气味"),
        *("天然气味", "液化气味", "闻到"),
    ),
    (
        *("高压线", "电线", "电缆", "线路", "变压器", "电箱", "电表箱", "电线杆", "电杆"),
        *("触电", "漏电", "电死", "火花四溅"),
    ),
    (
        *("随时", "马上", "快要", "眼看", "就要", "摇摇欲坠", "倒塌", "坍塌", "塌了", "塌下来"),
        *("垮了", "倾斜", "下沉", "垮塌", "塌陷", "倒了", "跌了落来", "掉下来", "推倒"),
        *("斜了", "歪了", "冲空", "掏空", "掉砖", "承重"),
        "快跌落来",
    ),
    ("开裂", "裂缝", "裂开", "松动", "裂了"),
    (
        *("山体滑坡", "滑坡", "泥石", "塌方", "落石", "掉石头", "滚石", "崩塌", "山泥", "山裂"),
        *("山崩", "山塌", "山垮", "坡崩", "坡塌", "坡垮", "坡顶"),
    ),
    ("决堤", "溃堤", "决口", "溃坝", "管涌", "堤", "水坝", "大坝", "水库", "陂"),
    (
        *("洪水", "山洪", "被水围困", "水位暴涨", "水淹", "漫进", "漫到", "淹进", "淹到"),
        *("浸进", "浸到", "入了村", "进了村", "涌入村", "涌进村"),
    ),
    ("中毒", "霍乱", "疫情", "狂犬病"),
    ("发烧", "发高烧", "发热", "腹泻", "呕吐", "都呕", "上吐下泻", "中毒", "感染", "确诊"),
    (
        *("禽流感", "鸡瘟", "猪瘟", "口蹄疫", "病死猪", "病死鸡", "死了", "死晒", "死光"),
        *("死亡", *(f"死{c}" for c in "一二三四五六七八九十几百0123456789")),
    ),
    (
        *("持刀", "拿刀", "砍人", "捅人", "行凶", "打架", "斗殴", "打人", "杀人", "要杀"),
        *("扬言要", "威胁要", "恐吓", "绑架", "劫持", "家暴", "殴打", "围殴", "群殴", "械斗"),
        *("刀", "锄头", "铁棍", "打起来", "打起架", "砸头", "砸伤", "拿酒瓶", "棍", "棒"),
        *("追着打", "追住打", "追住斩", "追着砍", "斩人", "要打他", "要打她", "打到头", "拍到头"),
    ),
    ("跳楼", "轻生", "自杀", "寻死", "喝农药", "上吊", "往下跳", "不想活"),
    ("生命危险", "危及生命", "出人命", "人命关天", "等救", "等人救", "求救"),
    ("泄漏", "泄露", "漏了"),
    ("晕", "不应", "没应", "没反应", "没有反应", "没上来", "没有上来", "没出来", "倒下", "没动静"),
)

_NEGATION = re.compile(r"(?:没有|没|未|无|不|并非|别|防止|预防|防|避免|以防|谨防)$")
# A danger that might happen (万一着火, 容易引发火灾) is a hazard to fix, not an emergency now.
_HYPOTHETICAL = re.compile(
    r"万一|一旦|如果|假如|要是|容易|可能|引发|导致|造成|以免|防止|预防|担心会|怕|惊|差点|差一点|差些|险些"
)
HYPOTHETICAL_WINDOW = 8
_SUGGESTION = re.compile(r"(?:我)?(?:建议|提议)")
_PAST = re.compile(
    r"去年|前年|上年|上次|上回|自从|上个月|上月|上周|上星期|上礼拜|上个星期|上个礼拜|以前|曾经|过去"
    r"|几年前|多年前"
    r"|那年|当年|早年"
    r"|小时候|年前|历史上|发生过|出过|有过|曾"
)
_DRILL = re.compile(r"演练|演习|培训|宣传|讲座|预案|知识|安全教育|应急预案|电鱼")
_HAZARD_ONLY = re.compile(r"^.{0,3}(?:隐患|风险)")
_RESOLVED = re.compile(
    r"^.{0,12}?(?:已经?(?:被)?(?:扑灭|灭了|救熄|扑熄|熄了|修好|修复|处理好|处理完|解决|找到|找回"
    r"|救出|获救|送医|脱险|回家"
    r"|回来)|找到了|没事|无大碍|没有大碍|平安|虚惊一场)"
)
NEGATION_WINDOW = 3
CONTEXT_BEFORE = 20
CONTEXT_AFTER = 6
PAST_WINDOW = 12


@dataclass(frozen=True, slots=True)
class Urgency:
    """The detector's answer: urgent or not, and if so why (a reason code) and from what words."""

    reason: str | None = None
    family: str | None = None
    department: str | None = None
    words: str = ""

    @property
    def urgent(self) -> bool:
        """Return True when a life-safety signal was found."""
        return self.reason is not None

    @property
    def label(self) -> str | None:
        """Return the reason in plain Chinese for cards (人员失联, 山体开裂), None when calm."""
        return catalogue()[f"urgency.{self.reason}"] if self.reason is not None else None


NOT_URGENT = Urgency()


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...]:
    """Return each signal's compiled pattern and context (None: it needs none)."""
    return tuple((re.compile(s[3]), re.compile(s[4]) if s[4] else None) for s in SIGNALS)


@lru_cache(maxsize=1)
def _by_anchor() -> dict[str, tuple[int, ...]]:
    """Return anchor word -> the signals it may belong to."""
    index: dict[str, list[int]] = {}
    for i, words in enumerate(ANCHORS):
        for word in words:
            index.setdefault(word, []).append(i)
    return {w: tuple(v) for w, v in index.items()}


def anchor_words() -> frozenset[str]:
    """Return the words whose presence makes a text worth assessing."""
    return frozenset(_by_anchor())


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """Return the bounds of the clause holding ``text[start:end]``."""
    before = [m.end() for m in _BOUNDARY.finditer(text, 0, start)]
    after = _BOUNDARY.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def discounted(text: str, start: int, end: int) -> bool:
    """Return True when the signal at ``text[start:end]`` is negated, past, a drill or resolved."""
    lo, hi = _clause(text, start, end)
    if _NEGATION.search(text, max(lo, start - NEGATION_WINDOW), start):
        return True
    if _PAST.search(text, max(lo, start - PAST_WINDOW), start):
        return True
    if _HYPOTHETICAL.search(text, max(lo, start - HYPOTHETICAL_WINDOW), start):
        return True
    if _DRILL.search(text, lo, hi) or _HAZARD_ONLY.match(text[end:hi]):
        return True
    return bool(_RESOLVED.match(text[end : end + 24]))


def _signal_at(text: str, index: int) -> Urgency | None:
    """Return the first match of one signal in ``text`` that is not discounted."""
    pattern, context = _compiled()[index]
    for match in pattern.finditer(text):
        start, end = match.span()
        if context is not None:
            lo, hi = _clause(text, start, end)
            if lo > 0:  # the context may sit in the clause before (一个细路六岁，到而家都揾唔到)
                lo = _clause(text, lo - 1, lo - 1)[0]
            found = context.search(
                text, max(lo, start - CONTEXT_BEFORE), min(hi, end + CONTEXT_AFTER)
            )
            if found is None:
                continue
            start, end = min(start, found.start()), max(end, found.end())
        if not discounted(text, start, end):
            reason, family, department, _, _ = SIGNALS[index]
            return Urgency(reason, family, department, text[start:end])
    return None


def assess(text: str, found: Iterable[str] | None = None) -> Urgency:
    """Return the life-safety signal of normalised ``text`` (the earliest one), if any.

    ``found``: the words a dictionary scan found in ``text``; when given, only the signals
    whose anchor words are among them are tried (the others cannot match).
    """
    if _SUGGESTION.match(text):
        return NOT_URGENT  # a proposal (建议每个村配消防泵) cites dangers; it reports none now
    if found is None:
        candidates: Iterable[int] = range(len(SIGNALS))
    else:
        by_anchor = _by_anchor()
        candidates = sorted({i for w in found if w in by_anchor for i in by_anchor[w]})
    best: Urgency | None = None
    best_at = len(text) + 1
    for index in candidates:
        urgency = _signal_at(text, index)
        if urgency is not None and text.find(urgency.words) < best_at:
            best, best_at = urgency, text.find(urgency.words)
    return best or NOT_URGENT
