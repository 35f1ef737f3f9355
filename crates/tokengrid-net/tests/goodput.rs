//! Goodput models against hand calculations.

use tokengrid_net::goodput::*;

use crate::close;

#[test]
fn mathis_by_hand() {
    // Mathis et al. 1997: MSS 1,460 B, RTT 20 ms, p = 1e-4:
    // 1,460 x 8 / 0.020 x sqrt(1.5) / 0.01 = 584,000 x 122.474 = 71.53 Mb/s.
    close(
        mathis_bps(1460.0, 0.020, 1e-4),
        584_000.0 * 1.5f64.sqrt() / 0.01,
        1e-12,
    );
    let g = goodput_gbps(Transport::Tcp, &PathParams::new(10.0, 20.0, 1e-4));
    close(g, 0.071_525, 1e-4);
    // Without loss the link caps it.
    assert_eq!(
        goodput_gbps(Transport::Tcp, &PathParams::new(10.0, 20.0, 0.0)),
        10.0
    );
    // Parallel streams add until the link is full.
    let mut p = PathParams::new(10.0, 20.0, 1e-4);
    p.streams = 10;
    close(goodput_gbps(Transport::Tcp, &p), 0.715_25, 1e-4);
}

#[test]
fn padhye_by_hand() {
    // Padhye et al. 1998 eq. 30, b = 2, p = 0.01, RTT 0.1 s, T0 = 0.4 s, Wmax large:
    // RTT sqrt(2bp/3) = 0.1 x sqrt(0.013333) = 0.011547
    // T0 min(1, 3 sqrt(3bp/8)) p (1 + 32 p^2) = 0.4 x 3 x sqrt(0.0075) x 0.01 x 1.0032 = 0.0010425
    // rate = 1 / 0.0125895 = 79.43 packets/s x 1,460 x 8 = 927.8 kb/s
    let want = 1.0
        / (0.1 * (2.0 * 2.0 * 0.01 / 3.0f64).sqrt()
            + 0.4 * 3.0 * (3.0 * 2.0 * 0.01 / 8.0f64).sqrt() * 0.01 * (1.0 + 32.0 * 1e-4))
        * 1460.0
        * 8.0;
    close(padhye_bps(1460.0, 0.1, 0.01, 0.4, 2.0, 1e9), want, 1e-12);
    close(want, 927_800.0, 1e-3);
    // With timeouts included, Padhye is below Mathis at the same loss.
    assert!(padhye_bps(1460.0, 0.1, 0.01, 0.4, 2.0, 1e9) < mathis_bps(1460.0, 0.1, 0.01));
    // The receiver window caps it: 10 packets per 0.1 s RTT = 100 packets/s.
    close(
        padhye_bps(1460.0, 0.1, 1e-7, 0.4, 2.0, 10.0),
        100.0 * 1460.0 * 8.0,
        1e-12,
    );
}

#[test]
fn go_back_n_and_selective_repeat_by_hand() {
    // 100 Gb/s, RTT 10 us, MTU 4,096: 100e9 x 1e-5 / 32,768 = 30.52 packets in flight.
    close(window_packets(100.0, 0.01, 4096.0), 1e6 / 32_768.0, 1e-12);
    // p = 0.01, 31 in flight: (1 - 0.01) / (1 + 30 x 0.01) = 0.99 / 1.3 = 0.76154
    close(go_back_n_efficiency(0.01, 31.0), 0.99 / 1.3, 1e-12);
    let w = 1e6 / 32_768.0;
    close(
        goodput_gbps(Transport::RdmaGbn, &PathParams::new(100.0, 0.01, 0.01)),
        100.0 * 0.99 / (1.0 + (w - 1.0) * 0.01),
        1e-12,
    );
    close(
        goodput_gbps(Transport::RdmaSr, &PathParams::new(100.0, 0.01, 0.01)),
        99.0,
        1e-12,
    );
    // At 1% loss over a long window go-back-N is near zero (Wang et al. 2019).
    assert!(goodput_gbps(Transport::RdmaGbn, &PathParams::new(400.0, 1.0, 0.01)) < 0.05 * 400.0);
}

#[test]
fn transports_parse_by_name() {
    for t in [
        Transport::Tcp,
        Transport::TcpPadhye,
        Transport::RdmaGbn,
        Transport::RdmaSr,
    ] {
        assert_eq!(Transport::parse(t.name()), Some(t));
    }
    assert_eq!(Transport::parse("udp"), None);
}
