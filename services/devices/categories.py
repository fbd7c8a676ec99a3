"""The check categories of the compliance procedure §四 (设备状态), as data, in the procedure's order.

Each carries the procedure's own sentence for the good state (良好状态) and the abnormal state
(异常状态), in Chinese as written and in English. Codes are stable API values; the database keeps
the same list in a CHECK constraint on findings (migration devices_0002).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckCategory:
    code: str
    name_en: str
    name_zh: str
    good_en: str
    good_zh: str
    abnormal_en: str
    abnormal_zh: str


CATEGORIES: tuple[CheckCategory, ...] = (
    CheckCategory(
        "noise_vibration",
        "Noise or vibration",
        "异常噪音或震动",
        "The device runs steadily, with no abnormal noise or vibration.",
        "设备运行稳定,无异常噪音或震动。",
        "Abnormal noise or vibration while running: possibly a mechanical fault.",
        "设备运行中出现异常噪音或震动,可能存在机械故障。",
    ),
    CheckCategory(
        "display",
        "Display",
        "显示屏",
        "The display is clear, without scratches or damage.",
        "显示屏清晰,无划痕或损坏。",
        "The display flickers, distorts colours or does not display properly: possibly hardware damage.",
        "显示屏出现闪烁、颜色失真或无法正常显示,可能存在硬件损坏。",
    ),
    CheckCategory(
        "input_output",
        "Input and output devices",
        "输入输出设备",
        "Input and output devices such as keyboard, mouse and printer respond quickly, without faults.",
        "输入输出设备如键盘、鼠标、打印机等响应迅速,无故障。",
        "Input or output devices respond slowly or cannot be used: possibly a driver problem or a "
        "hardware fault.",
        "输入输出设备反应迟缓或无法使用,可能存在驱动程序问题或硬件故障。",
    ),
    CheckCategory(
        "system_software",
        "System software",
        "系统软件",
        "System software runs normally, with no virus or malware.",
        "系统软件运行正常,无病毒或恶意软件。",
        "System software crashes, runs slowly or shows frequent error messages: possibly a software "
        "error or a virus infection.",
        "系统软件出现崩溃、运行缓慢或频繁出现错误提示,可能存在软件错误或病毒感染。",
    ),
    CheckCategory(
        "network",
        "Network connection",
        "网络连接",
        "The network connection is stable, without drops or latency.",
        "网络连接稳定,无中断或延迟。",
        "The network connection is unstable, with drops or latency: possibly a network setting problem "
        "or faulty network equipment.",
        "网络连接不稳定,出现中断或延迟,可能存在网络设置问题或网络设备故障。",
    ),
    CheckCategory(
        "power_supply",
        "Power supply",
        "电源供应",
        "The power supply is sufficient, without voltage fluctuation.",
        "电源供应充足,无电压波动。",
        "The power supply is unstable, with voltage fluctuation or outages, which may disturb the "
        "device's normal operation.",
        "电源供应不稳定,出现电压波动或断电,可能影响设备正常运行。",
    ),
    CheckCategory(
        "temperature",
        "Temperature",
        "设备温度",
        "The device temperature is within the normal range, with no overheating.",
        "设备温度在正常范围内,无过热现象。",
        "The device overheats: possibly poor cooling or overload.",
        "设备温度过高,可能存在散热不良或过载运行。",
    ),
    CheckCategory(
        "maintenance",
        "Maintenance",
        "维护保养",
        "Maintained regularly; the device is in its best working condition.",
        "定期维护保养,设备处于最佳工作状态。",
        "Maintenance is overdue, which may lower performance or increase faults.",
        "设备维护保养不及时,可能导致性能下降或故障增加。",
    ),
)

BY_CODE: dict[str, CheckCategory] = {c.code: c for c in CATEGORIES}
POSITION: dict[str, int] = {c.code: i for i, c in enumerate(CATEGORIES, start=1)}
