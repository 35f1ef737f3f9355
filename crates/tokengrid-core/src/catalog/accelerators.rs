//! The accelerator catalog's entries, from datasheets.

use super::AcceleratorSpec;

/// 2^30 / 10^9: GiB in GB.
pub const GIB: f64 = 1.073_741_824;

/// Host power per accelerator of an NVIDIA HGX/DGX H100-class node: DGX H100's 10.2 kW maximum less
/// 8 x 700 W of GPUs is 575 W per GPU of host at its maximum.
///
/// assumption: the host draws half of that while serving (CPUs mostly idle, NICs and fans busy);
/// no public source measures host power under inference.
pub const HGX_HOST_W: f64 = 0.5 * (10_200.0 - 8.0 * 700.0) / 8.0;

const IDLE_NOTE: &str = "assumption: idle_w is not in a datasheet; DESIGN.md's example uses 90 W";

/// The accelerator catalog.
pub const ACCELERATORS: &[AcceleratorSpec] = &[
    AcceleratorSpec {
        name: "H100-SXM",
        bf16_tflops: 989.0,
        fp8_tflops: Some(1979.0),
        hbm_gb: 80.0 * GIB,
        hbm_tbps: 3.35,
        tdp_w: 700.0,
        idle_w: 90.0,
        scale_up_gbps: 450.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: HGX_HOST_W,
        source: "facts/accelerators.csv; NVIDIA H100 datasheet: NVLink 900 GB/s (450 each way), DGX H100 8 x 400 Gb/s ConnectX-7, 10.2 kW max",
        note: IDLE_NOTE,
    },
    AcceleratorSpec {
        name: "H800-SXM",
        bf16_tflops: 989.0,
        fp8_tflops: Some(1979.0),
        hbm_gb: 80.0 * GIB,
        hbm_tbps: 3.35,
        tdp_w: 700.0,
        idle_w: 90.0,
        scale_up_gbps: 200.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: HGX_HOST_W,
        source: "facts/accelerators.csv (NVLink 400 GB/s, 200 each way); DeepSeek-V3 technical report section 3.1: 8 GPUs per node, 400 Gb/s InfiniBand per GPU",
        note: "TDP assumed equal to H100 SXM (facts/accelerators.csv); idle_w assumption as H100",
    },
    AcceleratorSpec {
        name: "H200",
        bf16_tflops: 989.0,
        fp8_tflops: Some(1979.0),
        hbm_gb: 141.0 * GIB,
        hbm_tbps: 4.8,
        tdp_w: 700.0,
        idle_w: 90.0,
        scale_up_gbps: 450.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: HGX_HOST_W,
        source: "facts/accelerators.csv; NVIDIA H200 datasheet (NVLink 900 GB/s)",
        note: IDLE_NOTE,
    },
    AcceleratorSpec {
        name: "H20",
        bf16_tflops: 148.0,
        fp8_tflops: Some(296.0),
        hbm_gb: 96.0 * GIB,
        hbm_tbps: 4.0,
        tdp_w: 400.0,
        idle_w: 60.0,
        scale_up_gbps: 450.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: HGX_HOST_W,
        source: "facts/accelerators.csv; third-party tables of H20 (NVLink 900 GB/s)",
        note: "assumption: idle_w scaled from H100's 90 W by TDP; host as HGX H100",
    },
    AcceleratorSpec {
        name: "A100-SXM-80GB",
        bf16_tflops: 312.0,
        fp8_tflops: None,
        hbm_gb: 80.0 * GIB,
        hbm_tbps: 2.04,
        tdp_w: 400.0,
        idle_w: 60.0,
        scale_up_gbps: 300.0,
        scale_out_gbps: 25.0,
        per_node: 8,
        host_w: 0.5 * (6_500.0 - 8.0 * 400.0) / 8.0,
        source: "facts/accelerators.csv; NVIDIA A100 datasheet (NVLink 600 GB/s); DGX A100: 8 x 200 Gb/s HDR, 6.5 kW max",
        note: "assumption: idle_w scaled from H100's by TDP; host draws half its nameplate headroom as HGX H100",
    },
    AcceleratorSpec {
        name: "B200",
        bf16_tflops: 2250.0,
        fp8_tflops: Some(4500.0),
        hbm_gb: 180.0 * GIB,
        hbm_tbps: 8.0,
        tdp_w: 1000.0,
        idle_w: 130.0,
        scale_up_gbps: 900.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: 0.5 * (14_300.0 - 8.0 * 1000.0) / 8.0,
        source: "NVIDIA HGX B200 datasheet: 2.25 PF dense BF16, 4.5 PF dense FP8, 180 GB HBM3e, 8 TB/s, 1,000 W, NVLink 1.8 TB/s; DGX B200 8 x 400 Gb/s, 14.3 kW max",
        note: "assumption: idle_w scaled from H100's by TDP; host draws half its nameplate headroom",
    },
    AcceleratorSpec {
        name: "Ascend-910B",
        bf16_tflops: 320.0,
        fp8_tflops: None,
        hbm_gb: 64.0 * GIB,
        hbm_tbps: 1.6,
        tdp_w: 400.0,
        idle_w: 60.0,
        scale_up_gbps: 196.0,
        scale_out_gbps: 25.0,
        per_node: 8,
        host_w: 0.5 * (5_600.0 - 8.0 * 400.0) / 8.0,
        source: "facts/accelerators.csv (FP16 320 TFLOPS, 64 GB HBM2e, 400 W); HCCS 392 GB/s and 200 Gb/s RoCE per NPU from third-party Atlas 800T A2 tables",
        note: "assumption: HBM bandwidth 1.6 TB/s is commonly quoted but unsourced (facts/accelerators.csv); node power 5.6 kW, idle_w scaled from H100's",
    },
    AcceleratorSpec {
        name: "Ascend-910C",
        bf16_tflops: 752.0,
        fp8_tflops: None,
        hbm_gb: 128.0 * GIB,
        hbm_tbps: 3.2,
        tdp_w: 800.0,
        idle_w: 120.0,
        scale_up_gbps: 196.0,
        scale_out_gbps: 50.0,
        per_node: 8,
        host_w: HGX_HOST_W,
        source: "Huawei CloudMatrix384 paper (arXiv 2506.12708): two dies, 752 TFLOPS dense BF16, 128 GB, 3.2 TB/s, UB 196 GB/s each way per die",
        note: "assumption: 800 W per package (two 910B-class dies), idle and host as H100-class; scale-out 400 Gb/s",
    },
];
