"""Real administrative division codes with their names, for addresses that match ID numbers.

The first six digits of a resident ID number are the code of the place where it was
first issued; a card whose address sits in a different province from its code looks
fake to any region check, so every generated address is built from one of these rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str
    province: str
    city: str  # empty for the four municipalities, whose province is the city
    district: str

    @property
    def rural(self) -> bool:
        """Counties get village-style addresses (镇/乡, 村, 组) like their real cards."""
        return self.district.endswith("县")

    @property
    def prefix(self) -> str:
        return f"{self.province}{self.city}{self.district}"

    @property
    def authority(self) -> str:
        """The issuing police office printed on the back, e.g. 南京市公安局玄武分局."""
        city = self.city or self.province
        if self.district.endswith("区"):
            branch = self.district.removesuffix("新区").removesuffix("区")
            return f"{city}公安局{branch}分局"
        return f"{self.district}公安局"


def _rows(province: str, city: str, entries: str) -> list[Region]:
    regions = []
    for entry in entries.split():
        code, district = entry.split(":")
        regions.append(Region(code, province, city, district))
    return regions


REGIONS: tuple[Region, ...] = tuple(
    _rows("北京市", "", "110101:东城区 110102:西城区 110105:朝阳区 110108:海淀区 110106:丰台区")
    + _rows("天津市", "", "120101:和平区 120104:南开区 120105:河北区")
    + _rows("河北省", "石家庄市", "130102:长安区 130104:桥西区")
    + _rows("河北省", "保定市", "130627:唐县 130602:竞秀区")
    + _rows("河北省", "唐山市", "130203:路北区")
    + _rows("山西省", "太原市", "140105:小店区 140106:迎泽区")
    + _rows("内蒙古自治区", "呼和浩特市", "150102:新城区")
    + _rows("内蒙古自治区", "包头市", "150203:昆都仑区")
    + _rows("辽宁省", "沈阳市", "210102:和平区 210103:沈河区")
    + _rows("辽宁省", "大连市", "210202:中山区")
    + _rows("吉林省", "长春市", "220102:南关区 220104:朝阳区")
    + _rows("黑龙江省", "哈尔滨市", "230102:道里区 230103:南岗区")
    + _rows("上海市", "", "310101:黄浦区 310104:徐汇区 310115:浦东新区 310112:闵行区")
    + _rows("江苏省", "南京市", "320102:玄武区 320104:秦淮区 320106:鼓楼区")
    + _rows("江苏省", "苏州市", "320505:虎丘区 320506:吴中区")
    + _rows("江苏省", "徐州市", "320321:丰县 320324:睢宁县")
    + _rows("江苏省", "无锡市", "320282:宜兴市")
    + _rows("浙江省", "杭州市", "330106:西湖区 330108:滨江区")
    + _rows("浙江省", "宁波市", "330203:海曙区")
    + _rows("浙江省", "温州市", "330382:乐清市")
    + _rows("安徽省", "合肥市", "340102:瑶海区 340104:蜀山区")
    + _rows("安徽省", "阜阳市", "341221:临泉县 341222:太和县")
    + _rows("福建省", "福州市", "350102:鼓楼区")
    + _rows("福建省", "厦门市", "350203:思明区")
    + _rows("福建省", "泉州市", "350524:安溪县")
    + _rows("江西省", "南昌市", "360102:东湖区")
    + _rows("山东省", "济南市", "370102:历下区")
    + _rows("山东省", "青岛市", "370202:市南区")
    + _rows("山东省", "日照市", "371122:莒县")
    + _rows("河南省", "郑州市", "410102:中原区 410105:金水区")
    + _rows("河南省", "平顶山市", "410421:宝丰县")
    + _rows("河南省", "南阳市", "411326:淅川县")
    + _rows("河南省", "信阳市", "411522:光山县")
    + _rows("湖北省", "武汉市", "420102:江岸区 420106:武昌区")
    + _rows("湖南省", "长沙市", "430102:芙蓉区 430104:岳麓区")
    + _rows("广东省", "广州市", "440103:荔湾区 440106:天河区")
    + _rows("广东省", "深圳市", "440304:福田区 440305:南山区")
    + _rows("广东省", "湛江市", "440823:遂溪县")
    + _rows("广西壮族自治区", "南宁市", "450102:兴宁区 450103:青秀区")
    + _rows("海南省", "海口市", "460105:秀英区")
    + _rows("重庆市", "", "500103:渝中区 500106:沙坪坝区")
    + _rows("四川省", "成都市", "510104:锦江区 510107:武侯区")
    + _rows("四川省", "绵阳市", "510722:三台县")
    + _rows("贵州省", "贵阳市", "520102:南明区")
    + _rows("云南省", "昆明市", "530102:五华区 530103:盘龙区")
    + _rows("西藏自治区", "拉萨市", "540102:城关区")
    + _rows("陕西省", "西安市", "610102:新城区 610113:雁塔区")
    + _rows("甘肃省", "兰州市", "620102:城关区")
    + _rows("青海省", "西宁市", "630102:城东区")
    + _rows("宁夏回族自治区", "银川市", "640104:兴庆区")
    + _rows("新疆维吾尔自治区", "乌鲁木齐市", "650102:天山区 650103:沙依巴克区")
)


# Numbers issued before a division was renamed or merged keep its old code, while the
# address printed on a newer card names today's division: (code, where they live now).
# The codes come from older GB/T 2260 editions (abolished since).
OLD_CODE_REGIONS: tuple[Region, ...] = (
    Region("532101", "云南省", "昭通市", "昭阳区"),  # 昭通市 (county-level) until 2001
    Region("522530", "贵州省", "安顺市", "紫云苗族布依族自治县"),  # in 安顺地区 until 2000
    Region("432826", "湖南省", "郴州市", "嘉禾县"),  # in 郴州地区 until 1995
    Region("140202", "山西省", "大同市", "平城区"),  # 城区, abolished 2018
    Region("342201", "安徽省", "宿州市", "埇桥区"),  # 宿州市 (county-level) until 1999
    Region("512501", "四川省", "宜宾市", "翠屏区"),  # 宜宾市 (county-level) until 1996
)
