"""The life-safety detector: each family of danger, negation, past events and calm controls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.messages import catalogue
from bot.core.routing import Router
from bot.core.rules import load_rules
from bot.core.text import normalise
from bot.core.urgency import ANCHORS, SIGNALS, assess

ROOT = Path(__file__).resolve().parents[2]
STATION = "440104001"

URGENT = [
    # people at risk
    ("六岁细路下昼出去玩到而家都揾唔到", "missing"),
    ("我阿爸已经三日联系唔到", "missing"),
    ("孥仔无看着，已经两个钟头", "missing"),
    ("隔篱阿伯三日冇见过人，敲门都冇人应", "unseen"),
    ("老人独居三天没出门，邻居很担心", "unseen"),
    ("工地塌了，有两个工人被困在下面", "trapped"),
    ("有个小朋友掉进鱼塘了", "drowning"),
    ("阿婆晕低咗，流血不止", "injured"),
    ("救护车叫咗成个钟都未到，阿婆好辛苦", "ambulance"),
    # fire, gas, electricity
    ("出租屋着火了，有人被困在三楼", "fire"),
    ("火烧厝，里面还有老岁仔", "fire"),
    ("小区闻到很浓的煤气味，怀疑燃气泄漏", "gas"),
    ("村口高压线打火，火花四溅", "power"),
    ("电线掉在路边积水里，刚才有狗触电", "power"),
    # structure and slope
    ("老房子墙体开裂随时倒塌，里面还住着人", "collapse"),
    ("后山山体开裂，下面住住十几户人家", "slope_crack"),
    ("暴雨后后山山体滑坡，几户人家有危险", "landslide"),
    ("伊讲伊厝后山崩了一大块", "landslide"),
    # flood and dyke
    ("河堤崩咗个缺口，水一直涌入村", "dyke"),
    ("河堤出现管涌险情，下游村庄要转移", "dyke"),
    ("水已经浸到屋里面，老人走不出来", "flood"),
    # epidemics and animal disease
    ("村里好几个人上吐下泻", "epidemic"),
    ("学校食堂吃完饭，十几个学生发烧呕吐", "epidemic"),
    ("村里好多鸡发鸡瘟，一日死几十只", "animal_disease"),
    ("河里漂着好多死猪", "animal_disease"),
    # violence and self-harm
    ("有人持刀喺街市斩人", "violence"),
    ("两帮人在村口打交，有人受伤", "violence"),
    ("有个后生仔企喺天台话要跳楼", "self_harm"),
    # everyday and Cantonese wording: the person word a clause before, Cantonese verbs
    ("隔离屋个细路八岁，由今朝出去到而家都揾唔到", "missing"),
    ("阿公朝早出去放牛，到夜晚都冇返来", "missing"),
    ("有个细路落咗水，冇浮返上嚟", "drowning"),
    ("两个工人落咗去污水池，上面点喊都冇反应", "trapped"),
    ("街口有人打起来，有人拿酒瓶砸头", "violence"),
    ("大树倒咗压住条电线，下面有人行过", "power"),
    ("阿婆喺街市晕低咗，打咗120半个钟都未到", "injured"),
    ("后面个山开咗条大裂缝，下面住咗几户人", "slope_crack"),
    ("商场部电梯卡咗喺三楼，入面有两个老人", "trapped"),
    ("仓库那边有个罐子泄漏了，附近的人都眼睛痛", "gas"),
    ("托儿所有十几个小朋友一齐发烧", "epidemic"),
    ("村口座旧屋个墙歪了，仲住住人", "collapse"),
    ("水已经浸到二楼，有人喺天台等救", "flood"),
    ("养鸡场嘅鸡一日死几十只", "animal_disease"),
]

CALM = [
    # negated or resolved
    "没有着火，只是烧垃圾的烟",
    "厨房着火，已经扑灭，冇事",
    "阿婆跌亲，冇事",
    "走失的老人已经找到了",
    # clearly past
    "去年这里塌过方",
    "水塘边没有护栏，上周有小孩溺水",
    "以前发生过火灾，现在消防通道又被堵了",
    # drills, hazards, hypotheticals
    "消防演练的时候发现灭火器过期",
    "出租屋楼道里电动车飞线充电，存在火灾隐患",
    "防溺水宣传要进学校",
    "这样堆放杂物，万一着火就麻烦了",
    # ordinary problems that share words with dangers
    "城中村握手楼墙体开裂，住户担心",
    "电梯经常困人，物业说没钱修",
    "水库堤围有裂缝，汛期前需要清淤加固",
    "工友被老板打伤，想打官司没钱请律师",
    "工厂的烟囱天天冒黑烟",
    "有人卖病死猪肉",
    "路灯坏了两个月不亮",
    "一下暴雨就水浸街，排水渠堵塞冇人理",
    "老板失联，工资也没发",
    "去年有两帮人在这里打起来",
    "化粪池满了，几个月没人清",
    "以前有小孩在河边落过水，建议装护栏",
    "建议每条村配个消防泵，起火时等消防车要好耐",
    "井盖冇咗，有个细路差啲跌落去",
    "电梯成日坏，上个礼拜又困咗人",
]


@pytest.mark.parametrize(("text", "reason"), URGENT, ids=[t for t, _ in URGENT])
def test_each_danger_is_urgent_with_its_reason(router: Router, text: str, reason: str) -> None:
    found = assess(normalise(text))
    assert found.urgent and found.reason == reason, found
    assert found.label == catalogue()[f"urgency.{reason}"]
    decision = router.route(text, region=STATION)
    assert decision.priority == "urgent" and decision.sla_class == "urgent"
    assert decision.urgency == catalogue()[f"urgency.{reason}"]
    assert decision.kind == "problem"  # a life at risk is handled, whatever else is said
    assert f"紧急：{decision.urgency}" in decision.explanation
    assert "life_danger" in decision.tags


@pytest.mark.parametrize("text", CALM)
def test_negated_past_drill_and_ordinary_reports_are_not_urgent(router: Router, text: str) -> None:
    calm = assess(normalise(text))
    assert not calm.urgent and calm.label is None
    decision = router.route(text, region=STATION)
    assert decision.priority == "normal" and decision.urgency is None
    assert "life_danger" not in decision.tags


def test_every_reason_has_a_plain_name_and_every_signal_its_anchors() -> None:
    assert len(ANCHORS) == len(SIGNALS)
    for reason, *_ in SIGNALS:
        assert catalogue()[f"urgency.{reason}"]


def test_the_router_asks_only_signals_whose_anchor_words_it_found(router: Router) -> None:
    for text, _ in URGENT:
        norm, hits = router.scan(text)
        assert assess(norm, hits) == assess(norm), text


def test_the_danger_points_at_the_department_that_answers_it(router: Router) -> None:
    assert router.route("后山裂开一条大缝，下面住住十几户人家", region=STATION).department in {
        "natural_resources",
        "emergency",
    }
    assert router.route("六岁细路下昼出去玩到而家都揾唔到", region=STATION).department == (
        "public_security"
    )


def test_the_detector_can_be_turned_off(tmp_path: Path) -> None:
    text = (ROOT / "routing_rules.yaml").read_text(encoding="utf-8")
    off = text.replace("  detector: true\n", "  detector: false\n")
    assert off != text
    path = tmp_path / "rules.yaml"
    path.write_text(off, encoding="utf-8")
    (tmp_path / "routing_model.json").symlink_to(ROOT / "bot/core/data/routing_model.json")
    d = Router(load_rules(path)).route("六岁细路下昼出去玩到而家都揾唔到", region=STATION)
    assert d.priority == "normal" and "life_danger" not in d.tags
