//! Goodput of one path under random packet loss, for the transports a hub-to-hub transfer uses.
//!
//! - TCP, Mathis, Semke, Mahdavi and Ott, "The macroscopic behavior of the TCP congestion avoidance
//!   algorithm", CCR 27(3), 1997: `rate <= MSS / RTT x C / sqrt(p)`, `C = sqrt(3/2) ~ 1.22`.
//!   Holds for loss well under a few percent, where timeouts are rare.
//! - TCP, Padhye, Firoiu, Towsley and Kurose, "Modeling TCP throughput: a simple model and its
//!   empirical validation", SIGCOMM 1998, eq. 30: adds retransmission timeouts and the receiver
//!   window, so it also holds at higher loss.
//! - RDMA go-back-N (RoCEv2 as shipped): a lost packet makes the sender resend every packet in
//!   flight since it. With `W` packets in flight, the efficiency is `(1 - p) / (1 + (W - 1) p)`
//!   (Bertsekas and Gallager, *Data Networks*, 2nd ed., sec. 2.4, go-back-n with the window
//!   resent per error). Wang et al. (ICCCN 2019) measured RoCEv2 falling to about zero above 1%.
//! - RDMA selective repeat (IRN; Mittal et al., SIGCOMM 2018): only lost packets are resent,
//!   efficiency `1 - p`.
//!
//! Every result is capped by the link bandwidth.

use serde::Serialize;

/// Transports with a goodput model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// TCP by the Mathis model.
    Tcp,
    /// TCP by the Padhye model (with timeouts).
    TcpPadhye,
    /// RDMA with go-back-N retransmission (RoCEv2).
    RdmaGbn,
    /// RDMA with selective repeat (IRN).
    RdmaSr,
}

impl Transport {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::TcpPadhye => "tcp-padhye",
            Transport::RdmaGbn => "rdma-gbn",
            Transport::RdmaSr => "rdma-sr",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Transport::Tcp,
            Transport::TcpPadhye,
            Transport::RdmaGbn,
            Transport::RdmaSr,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

/// Default TCP maximum segment size, bytes (1500-byte Ethernet MTU less 40 bytes of headers).
pub const DEFAULT_MSS_BYTES: f64 = 1460.0;
/// Default RDMA MTU, bytes (RoCEv2's largest).
pub const DEFAULT_MTU_BYTES: f64 = 4096.0;

/// A path as a transport sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathParams {
    /// Bottleneck bandwidth, Gbit/s.
    pub gbps: f64,
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Packet loss probability.
    pub loss: f64,
    /// TCP segment payload, bytes.
    pub mss_bytes: f64,
    /// RDMA packet size, bytes.
    pub mtu_bytes: f64,
    /// Parallel TCP flows sharing the path (each gets the per-flow rate, until the link is full).
    pub streams: u32,
}

impl PathParams {
    /// A path with the default MSS, MTU and one stream.
    pub fn new(gbps: f64, rtt_ms: f64, loss: f64) -> Self {
        PathParams {
            gbps,
            rtt_ms,
            loss,
            mss_bytes: DEFAULT_MSS_BYTES,
            mtu_bytes: DEFAULT_MTU_BYTES,
            streams: 1,
        }
    }
}

/// Mathis: one TCP flow's rate under loss `p`, bit/s (infinite at p = 0).
pub fn mathis_bps(mss_bytes: f64, rtt_s: f64, p: f64) -> f64 {
    if p <= 0.0 {
        return f64::INFINITY;
    }
    mss_bytes * 8.0 / rtt_s * (1.5f64).sqrt() / p.sqrt()
}

/// Padhye eq. 30: one TCP flow's rate, bit/s, with `b` packets acknowledged per ACK, timeout
/// `rto_s` and receiver window `wmax_packets`.
pub fn padhye_bps(
    mss_bytes: f64,
    rtt_s: f64,
    p: f64,
    rto_s: f64,
    b: f64,
    wmax_packets: f64,
) -> f64 {
    let window_limit = wmax_packets / rtt_s;
    if p <= 0.0 {
        return window_limit * mss_bytes * 8.0;
    }
    let denom = rtt_s * (2.0 * b * p / 3.0).sqrt()
        + rto_s * (3.0 * (3.0 * b * p / 8.0).sqrt()).min(1.0) * p * (1.0 + 32.0 * p * p);
    window_limit.min(1.0 / denom) * mss_bytes * 8.0
}

/// Packets in flight on a path at full rate on average: `bandwidth x RTT / packet size`, at
/// least 1.
pub fn window_packets(gbps: f64, rtt_ms: f64, packet_bytes: f64) -> f64 {
    (gbps * 1e9 * rtt_ms * 1e-3 / (8.0 * packet_bytes)).max(1.0)
}

/// Go-back-N efficiency with `w` packets in flight: `(1 - p) / (1 + (w - 1) p)`.
pub fn go_back_n_efficiency(p: f64, w: f64) -> f64 {
    (1.0 - p) / (1.0 + (w - 1.0) * p)
}

/// Selective-repeat efficiency: `1 - p`.
pub fn selective_repeat_efficiency(p: f64) -> f64 {
    1.0 - p
}

/// Goodput of `transport` on a path, Gbit/s, never above the link.
pub fn goodput_gbps(transport: Transport, path: &PathParams) -> f64 {
    let p = path.loss.clamp(0.0, 1.0);
    let rtt_s = (path.rtt_ms * 1e-3).max(1e-9);
    let streams = f64::from(path.streams.max(1));
    let g = match transport {
        Transport::Tcp => mathis_bps(path.mss_bytes, rtt_s, p) * streams / 1e9,
        Transport::TcpPadhye => {
            // Linux's minimum RTO is 200 ms; delayed ACKs cover 2 segments; the receiver window
            // is taken as large enough for the link (auto-tuning).
            let rto = (4.0 * rtt_s).max(0.2);
            let wmax = window_packets(path.gbps, path.rtt_ms, path.mss_bytes);
            padhye_bps(path.mss_bytes, rtt_s, p, rto, 2.0, wmax) * streams / 1e9
        }
        Transport::RdmaGbn => {
            let w = window_packets(path.gbps, path.rtt_ms, path.mtu_bytes);
            path.gbps * go_back_n_efficiency(p, w)
        }
        Transport::RdmaSr => path.gbps * selective_repeat_efficiency(p),
    };
    g.min(path.gbps).max(0.0)
}
