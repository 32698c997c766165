"""Interface terms (zh-CN), as the standards and the monitoring technical specifications
write them (HJ 212-2017 数据类型; HJ 633-2012 空气质量指数; GB 3838-2002 水质类别)."""

from __future__ import annotations

KIND_LABELS = {
    "air_station": "环境空气质量监测站",
    "surface_water_section": "地表水监测断面",
    "drinking_water_source": "集中式饮用水水源地",
    "groundwater_point": "地下水监测点",
    "noise_station": "声环境质量监测点",
    "enterprise_outlet": "排放口",
}

# HJ 212-2017 6.6 数据命令: 实时数据 (2011), 分钟数据 (2051), 小时数据 (2061), 日数据 (2031).
RESOLUTION_LABELS = {
    "REALTIME": "实时数据",
    "MINUTE": "分钟数据",
    "HOUR": "小时数据",
    "DAY": "日数据",
}

OUTLET_STATUS = {"online": "在线", "offline": "离线", "exceeding": "超标"}
# Status colours of the map: online blue (never a green that reads as AQI 优 or water Ⅰ–Ⅱ类),
# exceeding red, offline grey.
OUTLET_COLOURS = {"online": "#1E88E5", "exceeding": "#E60012", "offline": "#999999"}
NO_DATA_COLOUR = "#BBBBBB"

# Display values of the colour words the standards use (HJ 633 AQI levels, the 2011 water
# assessment method's class colours); the standards name the colours, screens need RGB.
COLOUR_HEX = {
    "绿色": "#00E400",
    "黄色": "#FFFF00",
    "橙色": "#FF7E00",
    "红色": "#FF0000",
    "紫色": "#99004C",
    "褐红色": "#7E0023",
    "蓝色": "#3A8EE6",
}


def hex_colour(value: str | None) -> str | None:
    """``#RRGGBB`` for a colour word (or a colour already in hex); None when unknown."""
    if value is None or value.startswith("#"):
        return value
    return COLOUR_HEX.get(value.strip())


def water_class_label(code: str | None) -> str | None:
    """A stored water class (``III``, ``Ⅲ``, ``3``) as GB 3838-2002 writes it (``Ⅲ``, with
    the Roman numeral characters Ⅰ–Ⅴ and 劣Ⅴ); an unreadable value is shown as stored."""
    if not code:
        return None
    from qingshan.standards.water import WaterClass

    try:
        return WaterClass.parse(code).roman
    except ValueError:
        return code
