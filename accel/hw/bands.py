"""Band walk of a layer: the pixel tiles (bands of output rows) in the order every engine uses.

A layer's output is computed image by image, each image in bands of ``BAND`` output rows (the
last band of an image may be shorter). The weight fetcher, the input prefetcher, the issuer and
the output sequencer each walk the same band sequence at their own pace, each with its own
:class:`BandCounter`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.hw.geometry import layer_signature

__all__ = ["BandCounter", "ROWS_SHAPE"]

#: Shape of :attr:`BandCounter.rows`: ``min(E_run - e0, BAND)`` of two 16-bit values.
ROWS_SHAPE = (Signal(16) - Signal(16)).shape()


class BandCounter(wiring.Component):
    """Position in the band walk ``for n in N: for e0 in range(0, E_run, BAND)``.

    Ports
    -----
    layer : ``In(layer_signature())``
        Uses the descriptor's ``N``, ``BAND``, ``U`` and the geometry's ``E_run``, ``band_u``
        (= ``(BAND - 1) * U``).
    restart : ``In(1)``
        Go to the first band (image 0, row 0) at the next clock edge.
    advance : ``In(1)``
        Go to the next band at the next clock edge (ignored while ``restart`` is high). After
        the last band of an image comes row 0 of the next image; after the last band of the
        layer the counter runs on into image ``N`` (the engines stop before).
    n : ``Out(16)``
        Image of the band (register).
    e0 : ``Out(16)``
        First output row of the band (register).
    e0u : ``Out(20)``
        ``e0 * U``, followed incrementally without a multiplier (register; ``e0 < 2**16``,
        ``U < 16``).
    index : ``Out(32)``
        Bands walked since ``restart`` (register); bit 0 selects the accumulator half.
    rows : ``Out(ROWS_SHAPE)``
        Output rows of the band, ``min(E_run - e0, BAND)`` (register).
    last_in_image : ``Out(1)``
        ``e0 + BAND >= E_run``: the band is the last of its image (register).
    last : ``Out(1)``
        The band is the last of the layer (the AND of two registers).
    """

    layer: In(layer_signature())
    restart: In(1)
    advance: In(1)
    n: Out(16)
    e0: Out(16)
    e0u: Out(20)
    index: Out(32)
    rows: Out(ROWS_SHAPE)
    last_in_image: Out(1)
    last: Out(1)

    def elaborate(self, platform):
        m = Module()
        d, g = self.layer.descriptor, self.layer.geometry
        # Registered E_run - e0 (and the rows / last-band flag derived from it): the same
        # values as computing them from e0 every cycle, since E_run and BAND are layer constants
        # from ``layer.run`` (the only restart) on, without an adder in front of the users.
        remaining = Signal(16)
        last_in_image = Signal()
        last_image = Signal()  # n + 1 == N, registered with n

        def enter(rest):
            m.d.sync += [
                remaining.eq(rest),
                self.rows.eq(Mux(rest < d.BAND, rest, d.BAND)),
                last_in_image.eq(rest <= d.BAND),
            ]

        m.d.comb += [
            self.last_in_image.eq(last_in_image),
            self.last.eq(last_in_image & last_image),
        ]
        with m.If(self.restart):
            m.d.sync += [self.n.eq(0), self.e0.eq(0), self.e0u.eq(0), self.index.eq(0)]
            m.d.sync += last_image.eq(d.N == 1)
            enter(g.E_run)
        with m.Elif(self.advance):
            m.d.sync += [
                self.e0.eq(Mux(last_in_image, 0, self.e0 + d.BAND)),
                self.e0u.eq(Mux(last_in_image, 0, self.e0u + g.band_u + d.U)),
                self.n.eq(Mux(last_in_image, self.n + 1, self.n)),
                self.index.eq(self.index + 1),
            ]
            with m.If(last_in_image):
                m.d.sync += last_image.eq(self.n + 2 == d.N)
            enter(Mux(last_in_image, g.E_run, remaining - d.BAND))
        return m
