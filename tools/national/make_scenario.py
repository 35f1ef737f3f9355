#!/usr/bin/env python3
"""Writes scenarios/china-national.toml: China's 140-trillion-token day.

Run from the repository root: python3 tools/national/make_scenario.py
Sizes the hubs' replicas from the serving model itself (`tokengrid energy`), so run
`cargo build --release -p tokengrid` first. Every figure is a cited fact or an `assumption:` with
its reasoning, written into the TOML next to it.
"""
import csv, json, math, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "data")
LOAD = os.path.join(ROOT, "data", "grid", "china", "Hourly_demand_of_31_province_China_modified_V2.1.csv")
COORDS = os.path.join(ROOT, "data", "geo", "city_coordinates.json")
OUT = os.path.join(ROOT, "scenarios", "china-national.toml")
TG = os.path.join(ROOT, "target", "release", "tokengrid")

TOKENS_PER_DAY = 140e12   # source article: more than 140 trillion tokens a day, March 2026
EXPORT_SHARE = 0.10       # assumption: no published split; a tenth of tokens served abroad via APIs
EXPORTS = [  # (name, lat, lon, hours behind China, share of exports) - city coordinates; assumption: split
    ("north-america", 37.77, -122.42, 16, 0.4),   # San Francisco, UTC-8
    ("europe", 50.11, 8.68, 7, 0.3),              # Frankfurt, UTC+1
    ("southeast-asia", 1.35, 103.82, 0, 0.3),     # Singapore, UTC+8
]
CAPITALS = {"AH": "合肥", "BJ": "北京", "CQ": "重庆", "FJ": "福州", "GS": "兰州", "GD": "广州",
            "GX": "南宁", "GZ": "贵阳", "HI": "海口", "HE": "石家庄", "HL": "哈尔滨", "HA": "郑州",
            "HB": "武汉", "HN": "长沙", "JS": "南京", "JX": "南昌", "JL": "长春", "LN": "沈阳",
            "NM": "呼和浩特", "NX": "银川", "QH": "西宁", "SN": "西安", "SD": "济南", "SH": "上海",
            "SX": "太原", "SC": "成都", "TJ": "天津", "XJ": "乌鲁木齐", "XZ": "拉萨", "YN": "昆明",
            "ZJ": "杭州"}
DIURNAL = [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0,
           0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8, 0.7, 0.5, 0.4]  # as china-east-west
# Classes: (name, share of requests, mean prompt, mean output) - shapes as in the TOML below.
MIX = {"chat": 0.6, "code": 0.2, "agent": 0.1, "analysis": 0.1}  # assumption: chat-heavy consumer traffic
MEANS = {"chat": (1020 * math.exp(0.6 ** 2 / 2), 211), "code": (1469 * math.exp(0.7 ** 2 / 2), 28),
         "agent": (8000 * math.exp(0.5 ** 2 / 2), 400), "analysis": (6000, 500)}
MODEL_OF = {"chat": "deepseek-v3", "code": "qwen3-235b-a22b", "agent": "deepseek-v3", "analysis": "deepseek-v3"}
# Hubs: (name, lat, lon, side, pue, carbon g/kWh, tariff, share of the fleet, note)
HUBS = [
    ("beijing-tianjin-hebei", 40.82, 114.87, "east", 1.25, 725.2, "tou", 0.10, "Hebei provincial factor"),
    ("yangtze-river-delta", 31.15, 121.12, "east", 1.25, 561.7, "tou", 0.12, "East China regional factor"),
    ("guangdong-hk-macao", 24.84, 113.62, "east", 1.25, 386.9, "tou", 0.10, "Southern grid regional factor"),
    ("chengdu-chongqing", 30.67, 104.06, "east", 1.25, 140.4, "tou", 0.08, "Sichuan provincial factor"),
    ("inner-mongolia", 40.38, 111.82, "west", 1.2, 684.9, 0.40, 0.16, "Inner Mongolia provincial factor"),
    ("guizhou", 26.57, 106.71, "west", 1.2, 386.9, 0.40, 0.14, "Southern grid regional factor"),
    ("gansu", 35.73, 107.63, "west", 1.2, 585.7, 0.40, None, "Northwest regional factor"),
    ("ningxia", 37.52, 105.18, "west", 1.2, 585.7, 0.36, 0.10, "Northwest regional factor"),
]
TOU = [0.317] * 8 + [0.951] * 4 + [0.634] * 6 + [0.951] * 4 + [0.634] * 2  # as china-east-west
# Qingyang (gansu): 142,000 PFLOPS (source article, facts/hubs.csv), read as dense FP16 on H800-class
# accelerators (989 TFLOPS): 143,579 accelerators.
GANSU_ACCELERATORS = round(142_000e15 / 989e12)
PEAK_UTILIZATION = 0.7    # assumption: a fleet sized so the national daytime peak fills 70% of it
QWEN_SHARE_OF_FLEET = None  # computed: the code class's share of replica-seconds


def energy(model, acc, prompt, output):
    out = subprocess.run([TG, "energy", "--scenario", OUT, "--model", model, "--accelerator", acc,
                          "--prompt-tokens", str(prompt), "--output-tokens", str(output),
                          "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["serving"]


def main():
    coords = json.load(open(COORDS))
    rows = list(csv.reader(open(LOAD, encoding="utf-8-sig")))
    head = rows[0][1:]
    twh = {code: sum(float(r[i + 1]) for r in rows[1:]) / 1e6 for i, code in enumerate(head)}
    total_twh = sum(twh.values())
    mean_tokens = sum(MIX[c] * sum(MEANS[c]) for c in MIX)
    requests_per_day = TOKENS_PER_DAY / mean_tokens
    shape_mean = sum(DIURNAL) / 24
    # Regions: provinces by their share of 2018 electricity use (assumption: token demand follows
    # economic activity, for which electricity use is the basis in the shared data).
    regions = []
    for code in head:
        lon, lat = coords[CAPITALS[code]]
        share = (1 - EXPORT_SHARE) * twh[code] / total_twh
        regions.append((f"cn-{code.lower()}", lat, lon, share, 0,
                        f"{twh[code]:.1f} TWh of {total_twh:.0f} TWh in 2018 (grid/china load data); capital {CAPITALS[code]} (geo/city_coordinates.json)"))
    for name, lat, lon, behind, s in EXPORTS:
        regions.append((name, lat, lon, EXPORT_SHARE * s, behind, f"assumption: {s:.0%} of the {EXPORT_SHARE:.0%} exported"))
    lines = []
    w = lines.append
    w("# china-national: China's token day at national scale (issue 14). Generated by")
    w("# tools/national/make_scenario.py; edit the script, not this file.")
    w("#")
    w(f"# Demand: {TOKENS_PER_DAY:.3g} tokens a day (source article, March 2026: more than 140 trillion),")
    w(f"# {EXPORT_SHARE:.0%} served abroad (assumption), the rest split over the 31 provinces by their 2018")
    w("# electricity use (grid/china hourly load data; assumption: token demand follows economic activity).")
    w(f"# Mean request {mean_tokens:.0f} tokens over the class mix below: {requests_per_day:.3g} requests a day.")
    w("# Run it in fluid mode: tokengrid simulate --scenario china-national --mode fluid")
    w("# Try 2024's 100 billion tokens a day: --demand-scale 0.000714 (1/1,400, the article's growth).")
    w("")
    w("[scenario]")
    w('name = "china-national"')
    w('start = "2026-03-02T00:00:00+08:00"  # a Monday in China Standard Time')
    w('duration = "24h"')
    w("seed = 2026                    # any fixed seed: the same seed gives the same run")
    w('currency = "CNY"')
    w("")
    w("[[accelerator]]")
    w('name = "H800-SXM"')
    w('catalog = "H800-SXM"')
    w("idle_w = 90.0                  # assumption: DESIGN.md's example")
    w("price_yuan = 252000.0          # assumption: about US$35,000 with its server share at 7.2 yuan/US$; no price in the shared data")
    w("lifetime_years = 5.0           # assumption: straight-line write-off over five years")
    w("")
    w("[[accelerator]]")
    w('name = "H20"')
    w('catalog = "H20"              # tokengrid catalog accelerators')
    w("price_yuan = 93600.0           # assumption: about US$13,000 with its server share at 7.2 yuan/US$")
    w("lifetime_years = 5.0           # assumption: as H800")
    w("")
    w("[[model]]")
    w('name = "deepseek-v3"')
    w('catalog = "deepseek-v3"')
    w('accelerator = "H800-SXM"')
    w("accelerators_per_replica = 32  # DeepSeek's prefill deployment unit (day-6 inference overview)")
    w("max_batch = 2816               # as china-east-west (facts/deepseek_serving_day.json)")
    w("")
    w("[[model]]")
    w('name = "qwen3-235b-a22b"')
    w('catalog = "qwen3-235b-a22b"')
    w('accelerator = "H20"')
    w("accelerators_per_replica = 8   # 470 GB of BF16 weights in 8 x 96 GiB with the KV reserve")
    w("max_batch = 512                # assumption: ML.ENERGY's Qwen3 runs reach ~500 on 8 GPUs")
    w("")
    fleet_marker = len(lines)
    w("")
    for name, lat, lon, share, behind, note in regions:
        peak = share * requests_per_day / 86400 / shape_mean
        # A region `behind` hours behind China sees its own morning at China's hour + behind.
        diurnal = [DIURNAL[(h - behind) % 24] for h in range(24)]
        w("[[region]]")
        w(f'name = "{name}"')
        w(f"lat = {lat:.2f}  # " + ("city coordinates (public geography)" if behind or name in ("southeast-asia",) else "geo/city_coordinates.json, the provincial capital"))
        w(f"lon = {lon:.2f}")
        w(f"peak_rps = {peak:.1f}  # {note}")
        w("diurnal = [" + ", ".join(f"{x:.1f}" for x in diurnal) + "]" +
          ("  # assumption: the working-day shape, in local time" + (f" ({behind} h behind China)" if behind else "")))
        w("mix = { " + ", ".join(f"{c} = {s}" for c, s in MIX.items()) + " }  # assumption: chat-heavy consumer traffic")
        w("")
    w("""[[class]]
name = "chat"
kind = "inference"
model = "deepseek-v3"
prompt_tokens = { dist = "lognormal", median = 1020, sigma = 0.6 }  # as china-east-west (Azure conversation trace)
output_tokens = { dist = "exponential", mean = 211 }              # llm_traces/SOURCE.md
ttft_slo_ms = 2000             # assumption: as china-east-west
e2e_slo_ms = 60000             # assumption

[[class]]
name = "code"
kind = "inference"
model = "qwen3-235b-a22b"
prompt_tokens = { dist = "lognormal", median = 1469, sigma = 0.7 }  # as china-east-west (Azure code trace)
output_tokens = { dist = "exponential", mean = 28 }                # llm_traces/SOURCE.md
ttft_slo_ms = 1000             # assumption
e2e_slo_ms = 10000             # assumption

[[class]]
name = "agent"
kind = "inference"
model = "deepseek-v3"
prompt_tokens = { dist = "lognormal", median = 8000, sigma = 0.5 }  # assumption: tool results and history in context
output_tokens = { dist = "exponential", mean = 400 }               # assumption
ttft_slo_ms = 5000             # assumption: an agent step tolerates more than a chat turn
e2e_slo_ms = 120000            # assumption

[[class]]
name = "analysis"
kind = "batch"
model = "deepseek-v3"
prompt_tokens = { dist = "fixed", value = 6000 }  # assumption: as china-east-west's summarize
output_tokens = { dist = "fixed", value = 500 }   # assumption
deadline = "8h"                # assumption: done within a working day

[[class]]
name = "training"
kind = "training"
accelerators = 1024            # assumption: a 128-node training run
accelerator = "H800-SXM"
compute_hours = 12.0           # assumption
gradient_gb_per_step = 14.0    # assumption (DESIGN.md's example)
step_compute_s = 4.0           # assumption (DESIGN.md's example)
deadline = "48h"               # assumption
splittable = true
jobs_per_day = 20.0            # assumption: a few dozen large runs a day nationally
""")
    # Hubs: a first pass with one replica each, to ask the serving model what a replica carries.
    def hubs_toml(replicas_by_hub):
        out = []
        for (name, lat, lon, side, pue, carbon, tariff, _, cnote) in HUBS:
            ds, qw, h800, h20, spare = replicas_by_hub[name]
            it_mw = (h800 * (0.7 + 0.2875) + h20 * (0.4 + 0.2875)) / 1000
            out.append("[[hub]]")
            out.append(f'name = "{name}"')
            out.append(f"lat = {lat}                    # facts/hubs.csv")
            out.append(f"lon = {lon}")
            out.append(f"pue = {pue}                     # facts/hubs.csv: {side}ern hub PUE target")
            out.append(f"grid_cap_mw = {math.ceil(it_mw * pue * 1.2)}              # assumption: full-load IT draw x PUE with 20% headroom")
            out.append(f"accelerators = {{ H800-SXM = {h800}, H20 = {h20} }}  # sized below (tools/national/make_scenario.py)")
            out.append('models = ["deepseek-v3", "qwen3-235b-a22b"]')
            out.append(f'replicas = {{ deepseek-v3 = {ds}, "qwen3-235b-a22b" = {qw} }}  # {spare} H800 spare for training')
            if tariff == "tou":
                out.append("tariff_yuan_per_kwh = [" + ", ".join(f"{x}" for x in TOU) + "]  # eastern ToU, as china-east-west")
            else:
                out.append(f"tariff_yuan_per_kwh = {tariff}     # facts/hubs.csv where given, else the western 0.40 (as china-east-west)")
            if side == "west":
                out.append(f"green_mw = {{ profile = \"solar\", installed_mw = {round(it_mw * 0.5)} }}  # assumption: on-site solar at half the hub's full IT draw")
            out.append(f"grid_carbon_g_per_kwh = {carbon}  # MEE/NBS 2022, {cnote}")
            out.append('batching = "continuous"')
            opex = (h800 * 252000.0 + h20 * 93600.0) * 0.10 / 365
            out.append(f"other_opex_yuan_per_day = {opex:.0f}  # assumption: staff, maintenance, network and rent at 10% of the hardware price a year")
            out.append("")
        return out
    one = {h[0]: (1, 1, 32 + 1024, 8, 1024) for h in HUBS}
    text = "\n".join(lines[:fleet_marker] + hubs_toml(one) + lines[fleet_marker:])
    open(OUT, "w").write(text + "\n")
    # Replica-seconds per request from the serving model (steady state at the class's mean tokens).
    per_model = {"deepseek-v3": 0.0, "qwen3-235b-a22b": 0.0}
    peak_rps = requests_per_day / 86400 / shape_mean
    for c, share in MIX.items():
        p, o = MEANS[c]
        acc = "H800-SXM" if MODEL_OF[c] == "deepseek-v3" else "H20"
        sv = energy(MODEL_OF[c], acc, round(p), round(o))
        per_model[MODEL_OF[c]] += peak_rps * share / sv["requests_per_s_per_replica"]
    need = {m: math.ceil(v / PEAK_UTILIZATION) for m, v in per_model.items()}
    ds_gpus = need["deepseek-v3"] * 32
    # Gansu holds its published accelerators; the others share the rest by their assumed weights.
    gansu_ds = GANSU_ACCELERATORS // 32
    rest = max(need["deepseek-v3"] - gansu_ds, 0)
    weights = {h[0]: h[7] for h in HUBS if h[7] is not None}
    tot_w = sum(weights.values())
    fleet = {}
    for (name, *_r) in HUBS:
        if name == "gansu":
            ds = gansu_ds
        else:
            ds = max(1, round(rest * weights[name] / tot_w))
        qw_w = weights.get(name, 0.14) / (tot_w + 0.14)
        qw = max(1, round(need["qwen3-235b-a22b"] * qw_w))
        spare = 1024 if name in ("gansu", "inner-mongolia", "ningxia") else 0
        fleet[name] = (ds, qw, ds * 32 + spare, qw * 8, spare)
    lines.insert(fleet_marker, f"# Fleet: at the national daytime peak ({peak_rps:,.0f} requests/s) DeepSeek-V3 needs {per_model['deepseek-v3']:,.0f}\n"
                 f"# replicas of 32 x H800 and Qwen3-235B {per_model['qwen3-235b-a22b']:,.0f} of 8 x H20 (serving model, `tokengrid energy`\n"
                 f"# --prompt-tokens/--output-tokens at each class's mean); sized so the peak fills {PEAK_UTILIZATION:.0%} (assumption).\n"
                 f"# Gansu (Qingyang) holds 142,000 PFLOPS (source article) read as dense FP16 on H800-class\n"
                 f"# accelerators: {GANSU_ACCELERATORS:,}; the other hubs share the rest by assumed weights (the\n"
                 f"# west larger: land, power and the East Data West Computing plan). Three western hubs keep\n"
                 f"# 1,024 H800 each for training.")
    text = "\n".join(lines[:fleet_marker + 1] + [""] + hubs_toml(fleet) + lines[fleet_marker + 1:])
    open(OUT, "w").write(text + "\n")
    print(f"wrote {OUT}: {requests_per_day:.3g} requests/day, peak {peak_rps:,.0f} rps, "
          f"DeepSeek replicas {sum(f[0] for f in fleet.values())}, Qwen replicas {sum(f[1] for f in fleet.values())}")


if __name__ == "__main__":
    main()
