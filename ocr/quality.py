"""Image-quality warnings, decided from the photo and the text boxes the engine found.

Pure functions: ``measure`` turns the decoded photo and its text boxes into a few
numbers, ``decide`` turns those (and the fields' own warnings) into stable codes and a
0-100 quality score. The card is located by its text: the largest cluster of boxes,
its convex hull widened by a text height. Every measure is taken at a scale set by the
median text height, so a card 300 px wide and one 1,300 px wide are judged alike.

Codes: ``blur``, ``glare``, ``border_incomplete``, ``photocopy``, ``screen``,
``occluded``. Each threshold below was chosen on generated photos with and without
the condition (``python -m tests.cardgen.image_conditions``) and checked against real
photos (``scripts/quality_figures.py``); the comment beside it says where it sits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from ocr.engine import TextBox
from ocr.groups import group_roots
from ocr.image import BGRImage, channel_extremes
from ocr.outline import CARD_ASPECT, Outline, find_outline, share_outside

IMAGE_WARNINGS = ("border_incomplete", "photocopy", "screen", "occluded", "glare", "blur")
# Older labels and results called a black-and-white copy this.
LEGACY_CODES = {"possibly_photocopy": "photocopy"}

# Boxes join the card's cluster within this many text heights of a member: an ID
# card's title and its lowest line are about 5 apart, a bank card's number and name 3.
CLUSTER_REACH = 6.0
# Blur is judged with the text this many pixels high.
NORMAL_TEXT_HEIGHT = 24.0

# Thresholds, chosen on a tuning set of generated photos (seed 1: 40 clean, 20 per
# condition; `python -m tests.cardgen.image_conditions --seed 1 --per-condition 20
# --clean 40`, measured with `scripts/quality_measures.py`) and checked on real-dev:
# Crété-Roffet blur at 24 px text: clean photos 0.47-0.70, real photos up to 0.74,
# defocused ones 0.71-0.85. 0.72 misses the mildest defocus rather than call sharp
# real photos blurred.
BLUR_LIMIT = 0.72
# Largest solid washed-out blob with no text left inside it, share of the card: 0 on
# 39 of 40 clean photos (0.0085 on one, a laminate sheen), up to 0.03 on photocopies
# (white paper left around the copy), 0.009-0.13 under a glare spot (two spots under).
GLARE_LIMIT = 0.009
# A laminate sheen washes out the card's background but the text shows through: dark
# strokes in the blob's interior (away from its soft rim, GLARE_RIM text heights).
# Share of the interior in such holes: glare spots 0-0.018, the sheen of the clean
# photos up to 0.10 (one at 0.099 was flagged before this test), so 0.04.
GLARE_HOLES = 0.04
GLARE_RIM = 0.4
# A specular reflection is a lobe of light rising to a clipped, colourless core, the
# print's contrast falling towards it. Its core is saturated: GLARE_SATURATED of the
# blob's interior (of the blob when it is too thin to keep one) at GLARE_CLIPPED or more:
# the glare spots 0.96-0.99, while a sheen that only lifts a pale card's paper to the
# clip hovers at 245-250 (0.72, and a thin stretch between lines: the two clean false
# alarms of seed 5151 were one of each before this test; one, at 1.0, is left). Near the
# core, strokes are washed out to a faint grey, not gone, and the tests above took them
# for text a sheen leaves legible (seed 5151: 5 of 7 missed spots, holes 0.04-0.16, all
# of that grey). So in a saturated core only strokes still darker than GLARE_STROKE count
# as legible print: share of the interior 0.008-0.029 under the spots missed before,
# 0.026-0.144 under the clean photos' sheens (seed 4242: a bank card's name washed to
# 150-213, 0.026): GLARE_STROKE_HOLES. Those dark strokes may fill at most
# 1 - GLARE_SOLIDITY of the blob's outline, and the blob itself must fill GLARE_RAGGED
# of it (the spots 0.90-0.97; a pale real card's paper hovering at the clip 0.85 and less).
GLARE_CLIPPED = 252
GLARE_SATURATED = 0.9
# A thin blob, all rim: a spot on a dark bank card 0.77 (seed 5151), the clean photo's
# stretch between lines 0.02-0.06.
GLARE_SATURATED_THIN = 0.5
GLARE_STROKE = 185
GLARE_STROKE_HOLES = 0.02
GLARE_RAGGED = 0.88
# On a dark card (the darkest channel's median over it at most GLARE_DARK_CARD) a
# reflection is a lobe of light: the clip is reached only at its core, as a colour
# card's channels clip one by one, and the blob at 245 is a small part of the spot
# (seed 20261129: three spots on dark bank cards, median 6-24, whose blobs at 245 were
# 0.0046-0.0087 of the card, under GLARE_LIMIT). There the blob is taken at GLARE_LOBE
# (those spots 0.014-0.051; clean dark bank cards of seeds 20261129 and 4242 up to
# 0.0097, a sheen), and its core must clip: GLARE_LOBE_CORE of the blob at GLARE_CLIPPED
# or more (the three spots 0.17-0.33; that sheen 0.09). ID cards' paper sits at 85 and up.
GLARE_DARK_CARD = 60.0
GLARE_LOBE = 200
GLARE_LOBE_CORE = 0.15
# Pale print (a bank card's silver digits, 200-226 at most on those cards) reaches the
# lobe's level too and joins it as fingers with the dark card between them as holes: an
# opening with a disc this many text heights across drops strokes from the lobe.
GLARE_LOBE_STROKE = 0.3
# A blob must reach this close (text heights) to one of the card's text boxes: glare
# spots over a field 0-0.11 (held-out seed 20261129), the laminate sheen of clean
# photos on an ID front's portrait or blank card 0.32-1.26. It did not hold on seed
# 4242, whose clean photos' sheen falls on the text itself (0): docs/warnings.md,
# "Glare where the text is, colour over the whole card". A blob farther off counts only
# when it stands out as far as GLARE_SURROUND_CARD asks (a spot on an ID back's emblem).
GLARE_REACH = 0.2
# On a card washed out all over (``_washed_out_glare``) a reflection is a patch clipped
# in every channel (GLARE_WASHED_CLIP) holding a disc of GLARE_WASHED_CORE text heights'
# radius, GLARE_WASHED_COVER text heights² of it on a line whose boxes reach
# GLARE_WASHED_BEYOND text heights past it at both ends. Chosen on seeds 4242 and 6262
# (all 40 glare and 80 clean photos each; washed-out cards: 7 glare, 3 clean): of the 7
# spots missed there, 5 give 0.029-0.13 of the card at 0.5 (0.013-0.13 at 0.6, 0.03-0.24
# at 0.4); the 3 clean washed cards (blank card between the title and the rows, beside
# an address) 0 at 0.5, while 0.4 gives one 0.011 and 0.6 one 0.007: 0.5, against
# GLARE_LIMIT as any blob. Without the line test, those two clean cards gave 0.19-0.22.
GLARE_WASHED_CLIP = 255
GLARE_WASHED_CORE = 0.5
GLARE_WASHED_COVER = 0.25
GLARE_WASHED_BEYOND = 0.5
# ... and GLARE_WASHED_MIDDLE text heights² of it in the middle half of that line's height:
# a patch that crosses the line, not a blank stretch whose fringe only enters a box's
# padding above or below the print (the washed pass's clean false alarms, seed 1010
# photo 18 and seed 4242 photo 79: 0.00 and 0.012). The washed spots it finds on seeds
# 4242, 6262, 1010, 1212, 9595 and 20261129 (12 glare photos, kept or first-detection
# boxes): 0.086-1.9 for the patch that counts, 0.086 on one (6262, photo 253): a thin
# margin, 0.05 between.
GLARE_WASHED_MIDDLE = 0.05
# On a pale card (the darkest channel's median GLARE_PALE_CARD or more, under 245) the
# blob at 245 spreads from the spot over the paper around it and takes in the print that
# survives there as holes (blind seed 9595: two spots on ID cards at 225-227, holes
# 0.07-0.09, over GLARE_HOLES). When that blob fails, the spot's own core, clipped in
# every channel (GLARE_WASHED_CLIP), goes through the same tests: those two spots 0.063
# and 0.29 of the card. Below 215 the core looks add a sheen: a clean bank card of seed
# 4242 at 192 (a core 0.018 beside its legible lines); the clean photos of seeds
# 4242, 6262, 20261129 and real-dev: no core passes at 215 and up.
GLARE_PALE_CARD = 215.0
# ... and the core must lie over the print it hides, GLARE_PALE_COVER text heights² of
# the text boxes under its hull (as ``_stands_out`` asks of a blob over text): the two
# spots of seed 9595 cover 21 and 4.9; a pale bank card's small core over blank card
# beside its number, clipped by a sheen, 0.10 (blind seed 1010, its third clean false
# alarm: 0.0095 of the card, over GLARE_LIMIT).
GLARE_PALE_COVER = 0.25
# A laminate sheen beside the text on a pale card passes the tests above over blank
# card: its blob at 245 holds no print to leave holes, and its surround (202-225) is
# under GLARE_SURROUND. What tells it from a spot is how bright it is: a reflection
# clips everything under it and its fringe between 245 and the clip is thin, while a
# sheen lifts the paper only to about the clip, and much of its blob hovers at 245-254.
# On a surround over GLARE_SURROUND_BLANK a blob counts only when GLARE_SHEEN_CLIPPED of
# the washed-out region holding it (every channel at 245 or more) is clipped in every
# channel (GLARE_WASHED_CLIP). Chosen on first-detection boxes: the five clean sheens of
# seeds 1212 (its three clean false alarms) and 1313 (two of its three): 0.536-0.638;
# the glare spots of seeds 1212, 1313, 4242 and 9595 (160 photos) whose blob lies in
# such a pale surround: one at 0.65 (9595 photo 268), the rest 0.695-1.0 (a pale card's
# clipped core, 9595 photo 252: 0.72 of the region at 245 around it). Spots under 0.67
# lie in surrounds of 122-195 (1212 photo 247, 1313 photos 241 and 250): a margin of 7
# over GLARE_SURROUND_BLANK. That test alone loses four spots (9595 photos 259 and 268,
# 20261129 photo 261, 1010 photo 258), all on cards holding a box the recogniser
# doubted (a character under GLARE_SHEEN_SURE: 0.53-0.67, the spot's washed edge),
# while the cards of 1212's three sheens were read at 0.989 and up (1313's two hold a
# doubted box, 0.50 and 0.73, away from the blob: GLARE_SHEEN_NEAR). The measures come
# from the boxes' corners alone, before the text is read: ``measure`` gives the glare
# both ways (``glare``, ``glare_clipped``) and where the blobs it left out lie
# (``sheens``), and ``decide`` applies the test only to a card read without doubt near
# them (``read_with_doubt``).
GLARE_SHEEN_CLIPPED = 0.67
GLARE_SHEEN_SURE = 0.95
# The doubt is asked only of the boxes near a blob the clip test left out (within this
# many text heights of its bounding box, ``read_with_doubt``). Chosen on first-detection
# boxes: the six spots the clip test alone loses (9595 photos 259 and 268, 20261129
# photo 261, 1010 photo 258, 7373 photos 248 and 263) have their doubted box (0.52-0.71)
# over the blob's bounding box (0 text heights); the two sheens of seed 1313 (photos 031
# and 057) have theirs beyond 2 text heights (0.84 at 2-3, 0.50 at 3-5), the sheens of
# 1212 none at any distance. 1: midway, a text height clear of both.
GLARE_SHEEN_NEAR = 1.0
# Blobs under this share of the card are specks, not a reflection.
GLARE_MIN_BLOB = 0.005
# Blob area over its filled outline. 0.95 before the surround test below; with it, 0.93
# takes the spots whose soft rim keeps a few broken strokes (0.94, one on each seed)
# and lets in no blob of a clean photo (none between 0.93 and 0.95 passes the rest).
GLARE_SOLIDITY = 0.93
# A reflection is a local event: far brighter than the card's own paper around it. The
# median darkest channel over a ring 1-2 text heights beyond the blob: under the glare
# spots of both seeds (20261129 and 4242) 4-225, while the laminate sheen that pushes
# an already near-white card over 245 (6 of seed 4242's 80 clean photos flagged) sits
# in a surround of 233-252, the card's own white.
GLARE_SURROUND = 230.0
# A blob that covers no text box (its hull holds under a quarter of a text height
# squared of them) either wiped a field out whole or lies in a blank stretch beside
# the text: the first stands far above a darker card (surround 23-161 on both seeds),
# the sheen on a pale card's blank stretch does not (212-235, two clean photos).
GLARE_SURROUND_BLANK = 200.0
GLARE_RING = (1.0, 2.0)
# Over the whole card beyond the text's hull (``_card_glare``): spots 23-161 as above (a
# red bank card's name 120 or less), while a pale card's blank stretch under a sheen
# sits at 220-230 (a clean photo of seed 4242) and 190-200 on a defocused one (seed
# 20261129): 170.
GLARE_SURROUND_CARD = 170.0
# % of the card's area in coloured pixels: photocopies 0-0.6, clean photos 0.08 (an ID
# back whose red emblem lies outside the text's hull) then 1.1 and up, real photos 6+.
COLOUR_LIMIT = 0.7
# Measured over the card's outline when all four sides are found (held-out seed
# 20261129: photocopies 0-0.39, clean photos 3.7 and up, where the text's hull gave a
# silver bank card 0.57 and an ID back whose emblem lies beyond its text 0.001), and
# this many text heights inside it, off the desk.
CARD_INSET = 0.3
# The whole photo's 90th-percentile saturation (HSV, 0-255, at 64x64), the fallback
# when the card's own colour is not conclusive: a photo with no colour anywhere is a
# black-and-white copy, as real cards are printed in colour (blue-green pattern, red
# emblem) and colour survives a phone camera's white balance.
GREY_SATURATION = 4.0
# Spectral peak prominence: clean photos 1.3-2.2, real photos 1.4-2.7 (one at 2.74),
# photos of screens 1.9-4.8 (most above 2.6).
MOIRE_LIMIT = 2.6
# The same along the spectrum's axes, over a median of the axis itself (a straight
# edge's energy runs smoothly along the axis; a pixel grid turned less than a degree
# puts a narrow peak on it): generated clean and other photos 0.8-1.38, photos of
# screens whose peak lies on an axis from 1.58, but real-dev photos (none of a screen,
# checked by eye) up to 2.26 (a soft ID photo at 1.47): above them, so it adds little.
AXIS_MOIRE_LIMIT = 2.5
# The same 2-D peak in the spectrum of the red-green difference: a screen's subpixels
# are red, green and blue stripes side by side, so its grid (and the moiré the camera
# folds it into) is strongest in colour, where a card's print has little fine detail.
# It survives the softness that wipes the grid out of the grey spectrum. Clean and
# other generated photos 1.3-2.29 (seeds 20261129 and 4242), real-dev 1.36-1.69,
# photos of screens up to 4.5 (of the 17 the grey peaks missed, 6 over 2.45).
COLOUR_MOIRE_LIMIT = 2.45
# The grey peak in 128-pixel tiles of the card, their median (``tiled_moire_measure``): a
# card photographed at an angle sees the pixel grid's period change across it, which
# smears its peak over the whole card's spectrum, while in a small tile it stays narrow;
# and a screen puts its grid on every tile, a card's print on a few. Clean photos of
# seed 20261129 (80): 1.27-1.84; real-dev 1.53 and below but one at 1.99 (a bank card
# whose background is printed in a halftone screen, itself periodic); photos of screens:
# 31 of 39 over 2.2, three of the six the other peaks missed at 2.24-3.26 (taken at an
# angle). 2.2 keeps a margin over the halftone.
TILE_MOIRE_LIMIT = 2.2
# Coarse colour stripes (``stripe_moire``): a screen's subpixel grid beating with the
# camera's can fold into wide bands that cycle through red, green and blue across the
# whole card, below the 0.12 cycles per pixel the peaks above look at (seed 4242's screen
# photo 158: about 0.04). Looked for over the card found by its outline, drawn upright at
# STRIPE_CARD pixels (the text's hull of a card read by one line holds a few periods only),
# between STRIPE_BAND cycles per pixel, in both colour differences (red-green and
# blue-yellow: a hue cycle moves both, a card's coloured print rarely puts the same
# narrow peak in each), the weaker of the two. Clean photos of seeds 4242, 20261129,
# 5151, 8484 and 1515 (336 with an outline): at most 2.43; real-dev (32 with an
# outline): at most 1.87; screen photos the other peaks missed: 3.32 (4242 photo 158)
# and 4.66 (seed 1515, photo 153: the measure was made on 158 alone). 2.9 lies between,
# about midway (0.47 over the clean top, 0.42 under 158): a thin margin, one screen.
# Other conditions of seed 4242 (199): at most 2.35. Costs a warp and one complex FFT
# of the card found: 17 ms CPU a photo on average (seed 4242's clean, under load).
STRIPE_MOIRE_LIMIT = 2.9
STRIPE_CARD = (856, 540)
STRIPE_BAND = (0.02, 0.12)
# Pixels of the upright card left out at its border (its edge, the desk past a loose outline).
STRIPE_INSET = 30
TILE_SIDE = 128
# Tiles taken at most, evenly over the card (time: each is an FFT).
TILE_COUNT = 16
# A card shown on a phone or a monitor in a photo viewer or an app sits in the screen's
# dark frame: the viewer's black page and the bezel, a band of near-black a few
# percent of the card wide along its sides, with the desk or the hand, brighter, beyond
# it (``framed_sides``). It survives the softness that wipes the pixel grid out of
# every spectrum. Looked for beyond the text's extent along and across its axis, up to
# FRAME_LOOK times the text's width, on the photo brought down to FRAME_SIDE pixels.
# A side is framed when the first band darker than FRAME_SHARE of the card's own median
# grey (the card's paper, whatever the screen's brightness) is at most FRAME_DARK
# (near-black: a screen's black lifted by its light and the room's reflection, 6-42 on
# the screen photos of seeds 20261129 and 6262; the dark-desk bands of clean photos 46
# and up), at least FRAME_WIDTH of the text's width wide, ends before the photo does,
# and what lies beyond it is at least FRAME_LIFT times as bright plus FRAME_STEP (a
# dark desk under a bright card runs to the photo's edge, or shades into the desk's own
# level: 1.1-1.2 times). FRAME_SIDES of the four sides framed: a screen. Chosen on
# seeds 20261129 and 6262 (screen photos read: 22/36 and 27/36 framed, among them 5 of
# the 8 that no spectral peak caught); clean photos of seeds 20261129-8484 (400, first
# detection's boxes): at most 1 side; other conditions of 20261129: at most 1;
# real-dev: at most 2 (one photo), so 3 keeps a margin of one side.
FRAME_LOOK = 1.2
FRAME_SIDE = 640
FRAME_SHARE = 0.5
FRAME_DARK = 50.0
FRAME_WIDTH = 0.03
FRAME_LIFT = 1.5
FRAME_STEP = 15.0
FRAME_SIDES = 3
# Of a row of samples parallel to a side, at least this share must lie in the photo.
FRAME_INSIDE = 0.9
# Half-width (bins) of the band along each axis, and the median's window along it.
AXIS_BAND = 3
AXIS_WINDOW = 21
# Share of the card beyond the photo's edge, from its outline (ocr/outline.py): clean
# and other photos 0 (two at 0.016 and 0.053), cut-off cards 0.08-0.35 (one at 0: a
# line of the cut print taken for the side).
OUTSIDE_LIMIT = 0.06
# When the outline does not tell (two sides of a corner not found), the text: this
# close to the photo's edge (in text heights) it is cut by it: cut-off cards 0-3 (half
# under 0.6), clean photos 1.1 and up, real photos (often cropped close to the card)
# from 0.8, one at 0.
EDGE_GAP_LIMIT = 0.6
# Any of the card's boxes, however short, this close to the photo's edge (text heights)
# runs into it: its text is cut. Seed 20261129's cut cards missed before had their cut
# line too short for the 0.7-median filter (a truncated VALID THRU, the lower half of an
# ID front's line): 0.00. The nearest box of a clean photo (seeds 20261129 and 4242,
# 160): 0.10 and up (0.30 without an outline, a photo already flagged by
# EDGE_GAP_LIMIT); real-dev: one at 0, the photo EDGE_GAP_LIMIT already flags.
EDGE_TOUCH = 0.05
# ... and within this many text heights of one of the card's lines (the cut lines above
# 0-1; a note's line cut by the photo's edge below a defocused ID front of seed 4242,
# joined to its cluster, about 3).
EDGE_TOUCH_BESIDE = 1.5
# Occlusion by a hand (``intrusion_measure``): a skin-coloured region, not the card's
# own colour, that comes in from beyond the card (from the photo's edge, where the hand
# is, or from a text height beyond the card's outline) and lies over it. Measured with
# the text this many pixels high: a coarse look is enough for a thumb, and cheap.
INTRUSION_TEXT_PX = 6.0
# Skin in YCrCb, wide enough for a thumb in shade or under a camera's colour cast.
INTRUSION_CR = (138, 180)
INTRUSION_CB = (80, 128)
INTRUSION_Y = 60
# A pixel is the card's own colour within this distance (|Cr - Cr0| + |Cb - Cb0|) of the
# card's median chroma off its text: a warm-lit or beige card is skin-coloured itself.
INTRUSION_CARD_CHROMA = 10
# A region covering more than this share of the card is the card (an orange card on a
# wooden desk), not a finger over it.
INTRUSION_MAX_CARD = 0.5
# Grey-level step within 3 x 3 pixels (at INTRUSION_TEXT_PX) that parts two regions:
# a pale pink card's print joined to a red-brown desk across the card's side gave a
# clean photo of seed 20261129 16% of its card "under a finger"; cut at 24 it is two
# regions, and no thumb of that seed fell under the limit below for it.
INTRUSION_EDGE = 24
# The card's area under such a region, in text heights squared (seed 20261129, `make
# dataset-quality`): thumbs over a field 10.2 and up (one at 0: a thumb drawn
# yellow-grey, not skin), clean photos (a thumb holding the card by its rim, where no
# field is) up to 2.6, real-dev up to 2.5 (a blurred 215 px ID photo): 6 between.
INTRUSION_LIMIT = 6.0
# With a glare found too, the glare says why a field is gone unless the skin region is
# this large: thumbs over pale cards also measured as glare (seeds 4242, 5151, 7373,
# first-detection boxes) 9.6-16.3; glare photos (seeds 20261129 and 4242, 80) at most 8.1
# (the rest 3.1 and below). A thin margin: between the two.
INTRUSION_OVER_GLARE = 9.0
# Without the card's outline, a region with more of itself beyond the text's widened
# hull than the hull's own area is the desk the hull reached over (the clean business
# card fixture 003_bizcard_photo: between 1 and 2 on a wooden desk); every thumb of both
# seeds without an outline stays detected at 1.
INTRUSION_DESK = 1.0
# With the card drawn from some of its sides (``intrusion_card``), a region with more
# of itself beyond the card than this times its part on the card is the desk around
# it, not a thumb: thumbs of seeds 20261129 and 4242 0.09-1.04 (the tip over the
# fields, the rest across the side to the photo's edge), a skin-coloured wooden desk
# around a cut bank card 1.78 (seed 20261129, 59 text heights² on the drawn card).
INTRUSION_BEYOND = 1.4

Floats = npt.NDArray[np.float32]
# A blob's bounding box: left, top, right, bottom, in pixels.
Place = tuple[float, float, float, float]


@dataclass(frozen=True)
class Measures:
    """What ``decide`` needs to know about one photo; no card content."""

    text_height: float  # median text height, pixels
    blur: float  # 0 sharp .. 1 smeared: how little a further blur changes the text
    glare: float  # share of the card covered by its largest washed-out (white) blob
    colour: float  # % of the card (outline, else text area) in clearly coloured pixels
    moire: float  # the strongest isolated peak of the card's spectrum, log units
    axis_moire: float  # the strongest narrow peak on the spectrum's axes, log units
    edge_gap: float  # the card's text to the nearest photo edge, in text heights
    outside: float  # share of the card beyond the photo's edge (outline), -1 when unknown
    saturation: float  # the whole photo's 90th-percentile saturation, 0-255
    # the card under a skin-coloured region that comes from beyond it, in text heights
    # squared (``intrusion_measure``)
    intrusion: float
    colour_moire: float = 0.0  # ``moire`` on the red-green difference's spectrum
    tile_moire: float = 0.0  # ``moire``'s median over small tiles of the card
    # sides of the card along a screen's dark frame, 0-4 (``framed_sides``; another text
    # cluster's when the card's has too few: ``_most_framed``)
    framed: float = 0.0
    # ``glare`` with a blob on a pale surround counted only when mostly clipped
    # (GLARE_SHEEN_CLIPPED): what a card read without doubt gets; -1 when not measured
    glare_clipped: float = -1.0
    stripe_moire: float = 0.0  # coarse colour stripes over the found card (``stripe_moire``)
    # where the blobs over GLARE_LIMIT that ``glare_clipped`` left out as laminate sheens
    # lie, in the photo's coordinates: ``read_with_doubt`` asks the boxes near them
    sheens: tuple[Place, ...] = ()

    def __post_init__(self) -> None:
        # From JSON (``as_json``, the measures a script kept) the places come as lists.
        places = tuple((a, b, c, d) for a, b, c, d in self.sheens)
        object.__setattr__(self, "sheens", places)

    def as_json(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: round(float(getattr(self, name)), 4)
            for name in self.__dataclass_fields__
            if name != "sheens"
        }
        values["sheens"] = [[round(v, 1) for v in place] for place in self.sheens]
        return values


@dataclass(frozen=True)
class Quality:
    warnings: list[str]
    score: int
    measures: Measures


def _box_array(box: TextBox) -> Floats:
    return np.asarray(box.points, np.float32)


def _box_height(points: Floats) -> float:
    return float(min(np.linalg.norm(points[1] - points[0]), np.linalg.norm(points[3] - points[0])))


def card_boxes(boxes: Sequence[TextBox]) -> list[Floats]:
    """The boxes of the largest cluster of nearby text: the card, not clutter beside it."""
    return text_clusters(boxes)[0]


def text_clusters(boxes: Sequence[TextBox]) -> list[list[Floats]]:
    """The clusters of nearby text, the card's (``card_boxes``) first, then the others
    (clutter, or the card itself when clutter's text outweighs it). One empty cluster when
    there are no boxes."""
    quads = [_box_array(b) for b in boxes]
    if len(quads) < 2:
        return [quads]
    height = float(np.median([_box_height(q) for q in quads]))
    centres = np.array([q.mean(axis=0) for q in quads])
    distances = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)
    near = np.nonzero(distances <= CLUSTER_REACH * height)
    roots = group_roots(len(quads), ((int(i), int(j)) for i, j in zip(*near, strict=True)))
    # By the area of its text, not the number of boxes: a receipt's many small lines
    # beside a bank card's few large digit groups are not the card.
    areas = [float(cv2.contourArea(q)) for q in quads]
    weight: dict[int, float] = {}
    for r, a in zip(roots, areas, strict=True):
        weight[r] = weight.get(r, 0.0) + a
    order = sorted(weight, key=weight.__getitem__, reverse=True)
    return [[q for q, r in zip(quads, roots, strict=True) if r == root] for root in order]


def _hull_mask(shape: tuple[int, ...], quads: list[Floats], widen: float) -> npt.NDArray[np.uint8]:
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.concatenate(quads).astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, hull, 255)
    if widen >= 1:
        size = 2 * round(widen) + 1
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        return dilate_convex(mask, cv2.boundingRect(hull), disc)
    return mask


def dilate_convex(
    mask: npt.NDArray[np.uint8], extent: Sequence[int], kernel: npt.NDArray[Any]
) -> npt.NDArray[np.uint8]:
    """``cv2.dilate(mask, kernel)``, the same pixels, for a filled convex polygon inside
    ``extent`` (x, y, width, height) and a kernel whose rows are centred runs (an ellipse).

    Each row of such a polygon is one run, and so is each row of its dilation (each
    source row's run widened by a kernel row's half-width, in overlapping rows), so the
    dilation is computed run by run; a sliver drawn with gaps in a row goes to OpenCV.
    cv2.dilate passes the whole kernel over every pixel of the photo: with a text height
    of 40 px, an 81 x 81 disc, it took 40% of the image measures' time.
    """
    x, y, width, height = (int(v) for v in extent)
    # The hull may reach past the photo (a box's corner beyond its edge): its mask not.
    x1, y1 = min(mask.shape[1], x + width), min(mask.shape[0], y + height)
    x, y = max(0, x), max(0, y)
    width = x1 - x
    out = np.zeros_like(mask)
    rows = mask[y:y1, x:x1] > 0
    if rows.size == 0:
        return out
    filled = rows.any(axis=1)
    if not filled.any():
        return out
    source = y + np.flatnonzero(filled)
    first = x + rows[filled].argmax(axis=1)
    last = x + width - 1 - rows[filled][:, ::-1].argmax(axis=1)
    if not np.array_equal(rows[filled].sum(axis=1), last - first + 1):
        # A sliver (a hull a pixel or two thick) is drawn with gaps in its rows.
        return np.asarray(cv2.dilate(mask, kernel), np.uint8)
    reach_y, reach_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    top = max(0, int(source[0]) - reach_y)
    bottom = min(mask.shape[0], int(source[-1]) + reach_y + 1)
    low = np.full(bottom - top, mask.shape[1], np.int64)
    high = np.full(bottom - top, -1, np.int64)
    for k_row, k_cols in enumerate(kernel > 0):
        if not k_cols.any():
            continue
        half = int(np.flatnonzero(k_cols).max()) - reach_x
        # Source row s reaches output row s - (k_row - reach_y).
        target = source - (k_row - reach_y) - top
        inside = (target >= 0) & (target < bottom - top)
        np.minimum.at(low, target[inside], first[inside] - half)
        np.maximum.at(high, target[inside], last[inside] + half)
    low = np.maximum(low, 0)
    high = np.minimum(high, mask.shape[1] - 1)
    columns = np.arange(mask.shape[1])
    out[top:bottom] = ((columns >= low[:, None]) & (columns <= high[:, None])) * np.uint8(255)
    return out


def blur_measure(grey: Floats) -> float:
    """Crété-Roffet's no-reference blur: 0 when sharp, towards 1 when smeared.

    A further 9-pixel blur changes sharp edges a lot and blurred ones little; the
    share of the edges' contrast that survives it is the blur.
    """
    values = []
    for axis in (0, 1):
        kernel = (1, 9) if axis == 1 else (9, 1)
        blurred = cv2.blur(grey, kernel)
        d_orig = np.abs(np.diff(grey, axis=axis))
        d_blur = np.abs(np.diff(blurred, axis=axis))
        total = float(d_orig.sum())
        if total <= 0:
            return 1.0
        kept = float(np.maximum(0.0, d_orig - d_blur).sum())
        values.append((total - kept) / total)
    return max(values)


def glare_measure(
    crop: BGRImage,
    inside: npt.NDArray[np.bool_],
    text_height: float = 0.0,
    text: npt.NDArray[np.bool_] | None = None,
    whole_card: bool = False,
    quads: Sequence[Floats] = (),
    sheens: list[Place] | None = None,
) -> float:
    """The share of the card covered by its largest solid washed-out blob that hides text.

    Washed out: every channel at 245 or more. Solid: the blob has (almost) no holes,
    because the text under a reflection is washed out with it; a white card that is
    merely bright keeps its dark text, which leaves holes in the white around it. A
    blob whose interior (beyond its rim) still shows text strokes is a sheen the text
    survives, not a reflection hiding a field.

    ``text``, when given, is where the card's text boxes lie: a reflection that hides
    a field cuts into the text around it, so a blob must reach within GLARE_REACH text
    heights of a box; one on a blank part of the card (an ID front's portrait, the
    space under an ID back's title) hides nothing. A card washed out all over (its
    median at 245 or more) is overexposed, not under a reflection: its text survived.
    ``whole_card``: ``inside`` is the whole card (``_card_glare``), beyond the text's
    hull: a blob must lie clear of its sides and stand out as a field wiped out whole.
    ``quads``: the text boxes (the crop's coordinates), for a card washed out all over
    (``_washed_out_glare``). ``sheens``, when given: on a pale surround a blob must be
    mostly clipped (GLARE_SHEEN_CLIPPED), not a laminate sheen (``_a_sheen``); the
    place of each sheen over GLARE_LIMIT left out so is added to it.
    """
    # The darkest channel of each pixel (numpy's min over 3 channels is several times slower).
    _, lowest = channel_extremes(crop, axis=2)
    level = float(np.median(lowest[inside])) if inside.any() else 0.0
    if level >= 245:
        return _washed_out_glare(lowest, inside, text_height, quads, whole_card)
    lobe = level <= GLARE_DARK_CARD
    white = np.asarray((lowest >= (GLARE_LOBE if lobe else 245)) & inside, np.uint8)
    if lobe:
        side = 2 * max(1, round(GLARE_LOBE_STROKE * text_height / 2)) + 1
        stroke = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        white = np.asarray(cv2.morphologyEx(white, cv2.MORPH_OPEN, stroke), np.uint8)
    near_text: npt.NDArray[np.bool_] | None = None
    if text is not None:
        reach = max(1, round(GLARE_REACH * text_height))
        ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        near_text = cv2.dilate(text.astype(np.uint8), ring) > 0
    sides = _card_sides(inside) if whole_card else None
    best = _largest_spot(
        lowest, inside, white, text, near_text, sides, text_height, lobe, sheens=sheens
    )
    if best > GLARE_LIMIT or lobe or level < GLARE_PALE_CARD:
        return best
    core = np.asarray((lowest >= GLARE_WASHED_CLIP) & inside, np.uint8)
    spot = _largest_spot(
        lowest,
        inside,
        core,
        text,
        near_text,
        sides,
        text_height,
        cover=GLARE_PALE_COVER,
        sheens=sheens,
    )
    return max(best, spot)


def _largest_spot(
    lowest: npt.NDArray[np.uint8],
    inside: npt.NDArray[np.bool_],
    white: npt.NDArray[np.uint8],
    text: npt.NDArray[np.bool_] | None,
    near_text: npt.NDArray[np.bool_] | None,
    sides: npt.NDArray[np.bool_] | None,
    text_height: float,
    lobe: bool = False,
    cover: float = 0.0,
    sheens: list[Place] | None = None,
) -> float:
    """``glare_measure``'s share of the card in the largest blob of ``white`` that hides
    the print, reaches the text (``near_text``), keeps off the card's ``sides`` and
    stands out of the card around it; with ``cover``, its hull over at least that many
    text heights² of the text boxes (``text``); ``sheens`` as ``glare_measure`` takes it."""
    whole_card = sides is not None
    area = max(1.0, float(inside.sum()))
    rim = max(1, round(GLARE_RIM * text_height))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=8)
    best = 0.0
    for label in range(1, count):
        size = float(stats[label, cv2.CC_STAT_AREA])
        if size < GLARE_MIN_BLOB * area or size / area <= best:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        blob = np.asarray(labels[y : y + h, x : x + w] == label, np.uint8)
        contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = np.zeros_like(blob)
        cv2.drawContours(filled, contours, -1, 1, -1)
        interior = cv2.erode(filled, disc) > 0
        if not _hides_print(lowest[y : y + h, x : x + w], blob, filled, interior, lobe):
            continue
        # Away from the text (a spot on an ID back's emblem), it must stand out as far
        # as a field wiped out whole over the card (GLARE_SURROUND_CARD).
        # (blind seed 9595: spots on ID backs' emblems, surround 142 and 169; clean
        # photos' blobs away from the text of seeds 4242, 6262, 20261129: 197 and up).
        apart = near_text is not None and not (near_text[y : y + h, x : x + w] & (blob > 0)).any()
        if sides is not None and (sides[y : y + h, x : x + w] & (blob > 0)).any():
            continue
        if text is not None:
            surround = _stands_out(
                lowest,
                inside,
                text,
                labels,
                (label, x, y, w, h),
                text_height,
                GLARE_SURROUND_CARD if whole_card or apart else 0.0,
                cover,
            )
            if surround is None:
                continue
            if sheens is not None and _a_sheen(lowest, inside, labels == label, surround):
                if size / area > GLARE_LIMIT:
                    sheens.append((float(x), float(y), float(x + w), float(y + h)))
                continue
        best = size / area
    return best


def _card_sides(inside: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The rim of ``inside``, the whole card cut to its bounding box: the photo beyond
    the crop counts as off the card."""
    eroded = cv2.erode(
        inside.astype(np.uint8),
        np.ones((3, 3), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return np.asarray(inside & (eroded == 0), bool)


def _washed_out_glare(
    lowest: npt.NDArray[np.uint8],
    inside: npt.NDArray[np.bool_],
    text_height: float,
    quads: Sequence[Floats],
    whole_card: bool,
) -> float:
    """``glare_measure`` on a card washed out all over (its darkest channel's median at
    245 or more), where a spot is no brighter than the card: the share of the card in
    its largest fully clipped patch (GLARE_WASHED_CLIP) that holds a disc of
    GLARE_WASHED_CORE text heights' radius and cuts a line of text in two.

    The overexposed card keeps its print, and mostly its guilloche and the sensor's
    noise under the clip; a reflection clips everything under it, the print included.
    Blank card clipped whole (between the title and the rows, beside the address) also
    holds such a disc, but no line goes on beyond it: a patch counts only where a line
    has text on both sides of it (``_cuts_a_line``), the print it erased.
    """
    if not quads or text_height <= 0:
        return 0.0
    clipped = np.asarray((lowest >= GLARE_WASHED_CLIP) & inside, np.uint8)
    radius = GLARE_WASHED_CORE * text_height
    # Where a disc of that radius fits, then the patch those discs sweep: an opening by
    # distances (a disc 50 px across as a kernel costs far more).
    room = cv2.distanceTransform(clipped, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    core = np.asarray(room >= radius, np.uint8)
    if not core.any():
        return 0.0
    swept = cv2.distanceTransform(1 - core, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) <= radius
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        np.asarray(swept & (clipped > 0), np.uint8), connectivity=8
    )
    sides = _card_sides(inside) if whole_card else None
    area = max(1.0, float(inside.sum()))
    best = 0.0
    for label in range(1, count):
        size = float(stats[label, cv2.CC_STAT_AREA])
        if size / area <= best:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        patch = labels[y : y + h, x : x + w] == label
        if sides is not None and (patch & sides[y : y + h, x : x + w]).any():
            continue
        ys, xs = np.nonzero(patch)
        points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
        if _cuts_a_line(points, quads, text_height):
            best = size / area
    return best


def _cuts_a_line(points: Floats, quads: Sequence[Floats], text_height: float) -> bool:
    """Whether the patch at ``points`` crosses a line of text with text beyond it on both
    sides: some box's row (its band across the card, along the box) holds GLARE_WASHED_COVER
    text heights² of the patch, GLARE_WASHED_MIDDLE of them in the middle half of the
    band (across the print, not in a box's padding), and that row's boxes reach
    GLARE_WASHED_BEYOND text heights past the patch at both ends (one box across it, or
    one on each side)."""
    beyond = GLARE_WASHED_BEYOND * text_height
    centres = [quad.mean(axis=0) for quad in quads]
    for quad in quads:
        along = quad[1] - quad[0]
        length = float(np.linalg.norm(along))
        if length < 1:
            continue
        along = along / length
        across = np.array([-along[1], along[0]], np.float32)
        top, bottom = float((quad @ across).min()), float((quad @ across).max())
        level = points @ across
        row = points[(level >= top) & (level <= bottom)]
        if len(row) < GLARE_WASHED_COVER * text_height**2:
            continue
        # Across the print, not along a box's padding: the middle half of its height.
        margin = (bottom - top) / 4
        middle = (level >= top + margin) & (level <= bottom - margin)
        if int(middle.sum()) < GLARE_WASHED_MIDDLE * text_height**2:
            continue
        start, end = float((row @ along).min()), float((row @ along).max())
        before = after = False
        for other, centre in zip(quads, centres, strict=True):
            if not top <= float(centre @ across) <= bottom:
                continue
            reach = other @ along
            before |= float(reach.min()) < start - beyond
            after |= float(reach.max()) > end + beyond
        if before and after:
            return True
    return False


def _hides_print(
    lowest: npt.NDArray[np.uint8],
    blob: npt.NDArray[np.uint8],
    filled: npt.NDArray[np.uint8],
    interior: npt.NDArray[np.bool_],
    lobe: bool = False,
) -> bool:
    """Whether a washed-out blob (``blob``, its outline ``filled`` and that outline's
    ``interior`` beyond the rim, over ``lowest``: the darkest channel, all cut to the
    blob's box) hides the print under it rather than letting it show through.

    Its core must be clipped (GLARE_SATURATED); then solid, with no holes in its
    interior (GLARE_SOLIDITY, GLARE_HOLES), or with only faint strokes left in it, the
    print washed out towards the core of a specular lobe (GLARE_STROKE). ``lobe``: the
    blob is a dark card's lobe of light (GLARE_LOBE), whose core must clip
    (GLARE_LOBE_CORE) while its rim has not.
    """
    if lobe and float((lowest[blob > 0] >= GLARE_CLIPPED).mean()) < GLARE_LOBE_CORE:
        return False
    # A blob too thin to keep an interior beyond its rim is judged whole, rim and all.
    thin = not interior.any()
    core = lowest[blob > 0] if thin else lowest[interior & (blob > 0)]
    needed = GLARE_SATURATED_THIN if thin else GLARE_SATURATED
    if core.size == 0 or (not lobe and float((core >= GLARE_CLIPPED).mean()) < needed):
        return False
    size, outline = float(blob.sum()), float(filled.sum())
    inner = max(1.0, float(interior.sum()))
    if size >= GLARE_SOLIDITY * outline and float((interior & (blob == 0)).sum()) <= (
        GLARE_HOLES * inner
    ):
        return True
    legible = (lowest < GLARE_STROKE) & (filled > 0)
    return (
        size >= GLARE_RAGGED * outline
        and float(legible.sum()) <= (1.0 - GLARE_SOLIDITY) * outline
        and float((legible & interior).sum()) <= GLARE_STROKE_HOLES * inner
    )


def _stands_out(
    lowest: npt.NDArray[np.uint8],
    inside: npt.NDArray[np.bool_],
    text: npt.NDArray[np.bool_],
    labels: npt.NDArray[Any],
    blob: tuple[int, int, int, int, int],
    text_height: float,
    limit: float = 0.0,
    cover: float = 0.0,
) -> float | None:
    """The card's level around a washed-out blob when the blob is a reflection, far
    brighter than the card around it; None when it is not.

    The card's own level is the median darkest channel over a ring GLARE_RING text
    heights beyond the blob (``blob``: its label and bounding box; on the card); a
    sheen that only pushes a near-white card over 245 leaves that ring near 245 too. A
    blob whose convex hull covers no text box must stand out further
    (GLARE_SURROUND_BLANK): it is either a field wiped out whole or a sheen on a blank
    stretch beside the text. ``cover``: the hull must hold at least that many text
    heights² of text boxes (``GLARE_PALE_COVER``). On a pale surround (over
    GLARE_SURROUND_BLANK) a laminate sheen beside the text passes all that: the level
    returned lets ``_largest_spot`` ask it to be mostly clipped (``_a_sheen``).
    """
    near, far = (max(1, round(r * text_height)) for r in GLARE_RING)
    label, x, y, w, h = blob
    height, width = labels.shape
    y0, y1 = max(0, y - far), min(height, y + h + far)
    x0, x1 = max(0, x - far), min(width, x + w + far)
    local = np.asarray(labels[y0:y1, x0:x1] == label, np.uint8)
    # Distance to the blob, not two dilations: a disc 4 text heights across costs far more.
    away = cv2.distanceTransform(1 - local, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ring = (away > near) & (away <= far) & inside[y0:y1, x0:x1]
    if not ring.any():
        return None
    surround = float(np.median(lowest[y0:y1, x0:x1][ring]))
    contours, _ = cv2.findContours(local, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros_like(local)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.concatenate(contours)), 1)
    covered = float((text[y0:y1, x0:x1] & (hull > 0)).sum()) / text_height**2
    if covered < cover:
        return None
    if not limit:
        limit = GLARE_SURROUND if covered >= 0.25 else GLARE_SURROUND_BLANK
    return None if surround > limit else surround


def _a_sheen(
    lowest: npt.NDArray[np.uint8],
    inside: npt.NDArray[np.bool_],
    blob: npt.NDArray[np.bool_],
    surround: float,
) -> bool:
    """Whether a blob that stands out (``_stands_out``, over a card at ``surround``) is a
    laminate sheen: on a pale surround (over GLARE_SURROUND_BLANK) the region at 245
    holding it is not mostly clipped (GLARE_SHEEN_CLIPPED), as a reflection's is and a
    sheen's, lifting the paper only to about the clip, is not."""
    return (
        surround > GLARE_SURROUND_BLANK
        and _clipped_share(lowest, inside, blob) < GLARE_SHEEN_CLIPPED
    )


def _clipped_share(
    lowest: npt.NDArray[np.uint8], inside: npt.NDArray[np.bool_], blob: npt.NDArray[np.bool_]
) -> float:
    """The share of the washed-out region holding ``blob`` (every channel at 245 or
    more, on the card) that is clipped in every channel (GLARE_WASHED_CLIP): the blob's
    own when it was taken at 245, that of the region around it for a pale card's
    clipped core (``glare_measure``)."""
    washed = np.asarray((lowest >= 245) & inside, np.uint8)
    _, labels = cv2.connectedComponents(washed, connectivity=8)
    held = np.unique(labels[blob])
    region = np.isin(labels, held[held > 0])
    if not region.any():
        return 1.0
    return float((lowest[region] >= GLARE_WASHED_CLIP).mean())


def colour_share(pixels: npt.NDArray[np.uint8]) -> float:
    """Percent of ``pixels`` (BGR rows) that are clearly coloured once white-balanced.

    The card's own white (95th percentile per channel) is made neutral first, so a
    grey copy under a warm lamp or a camera's colour cast stays grey; then a pixel
    counts when its saturation, (max - min) / max, is over 0.25. Cards print blue
    labels, a red emblem or a coloured background over some of that area; a
    black-and-white copy has almost none.
    """
    if len(pixels) == 0:
        return 0.0
    values = pixels.astype(np.float32)
    balanced = values / (_white_levels(pixels, values) + 1.0) * 255.0
    high, low = channel_extremes(balanced, axis=1)
    coloured = (high > 40) & (high - low > 0.25 * high)
    return 100.0 * float(coloured.mean())


# The share of a colour_share region's pixels below its white level (the percentile).
WHITE_PERCENTILE = 95


def _white_levels(
    pixels: npt.NDArray[np.uint8], values: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``np.percentile(values, WHITE_PERCENTILE, axis=0)`` (``values``: ``pixels`` as
    float32), to the last bit, from each channel's histogram when it can be.

    numpy's percentile interpolates between two neighbouring order statistics; when the
    values around that place in the order are all the same level (nearly always: a
    region of thousands of pixels over 256 levels), the percentile is that level exactly,
    read off the cumulative histogram instead of partitioning the whole region per
    channel (the costliest step of colour_share). Else numpy computes it."""
    levels = _histogram_levels(pixels) if pixels.dtype == np.uint8 and pixels.ndim == 2 else None
    if levels is None:
        return cast(npt.NDArray[np.float32], np.percentile(values, WHITE_PERCENTILE, axis=0))
    return levels


def _histogram_levels(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32] | None:
    """Each channel's WHITE_PERCENTILE level from its cumulative histogram, when the order
    statistics around it are one level in every channel; else None."""
    count = len(pixels)
    place = int((count - 1) * WHITE_PERCENTILE / 100)
    # The places either side of the one numpy interpolates from, whatever its rounding.
    wanted = np.arange(max(0, place - 1), min(count, place + 3))
    levels = []
    for channel in range(pixels.shape[1]):
        cumulative = np.cumsum(np.bincount(pixels[:, channel], minlength=256))
        around = np.searchsorted(cumulative, wanted, side="right")
        if around.min() != around.max():
            return None
        levels.append(around[0])
    return np.asarray(levels, np.float32)


def photo_saturation(image: BGRImage) -> float:
    """The 90th-percentile HSV saturation of the whole photo, shrunk to 64x64."""
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)
    return float(np.percentile(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[:, :, 1], 90))


def _log_spectrum(grey: Floats) -> Floats | None:
    """The log magnitude spectrum of the central square (at most 512) of ``grey``."""
    side = min(512, *grey.shape[:2])
    if side < 64:
        return None
    y0 = (grey.shape[0] - side) // 2
    x0 = (grey.shape[1] - side) // 2
    patch = grey[y0 : y0 + side, x0 : x0 + side]
    patch = patch - float(patch.mean())
    window = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    spectrum = np.fft.fftshift(np.abs(np.fft.fft2(patch * window)))
    return np.asarray(np.log1p(spectrum), np.float32)


def _log_spectra(grey: Floats, chroma: Floats) -> tuple[Floats, Floats] | None:
    """``_log_spectrum`` of ``grey`` and of ``chroma`` from one complex FFT.

    The FFT of ``grey + i * chroma`` holds both: the spectrum of a real signal is
    conjugate-symmetric, so G(k) = (X(k) + conj X(-k)) / 2 and C(k) = (X(k) - conj
    X(-k)) / 2i. numpy's fft2 of a real image is a complex FFT anyway, so the colour
    spectrum costs only the split.
    """
    side = min(512, *grey.shape[:2])
    if side < 64:
        return None
    y0 = (grey.shape[0] - side) // 2
    x0 = (grey.shape[1] - side) // 2
    patches = [p[y0 : y0 + side, x0 : x0 + side] for p in (grey, chroma)]
    window = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    packed = (patches[0] - float(patches[0].mean())) + 1j * (patches[1] - float(patches[1].mean()))
    both = np.fft.fft2(packed * window)
    mirrored = np.conj(np.roll(both[::-1, ::-1], 1, axis=(0, 1)))
    spectra = (np.abs(both + mirrored) / 2, np.abs(both - mirrored) / 2)
    grey_log, chroma_log = (
        np.asarray(np.log1p(np.fft.fftshift(part)), np.float32) for part in spectra
    )
    return grey_log, chroma_log


def moire_measure(grey: Floats, log: Floats | None = None) -> float:
    """How far the strongest peak of the spectrum stands above its neighbourhood.

    A screen's pixel grid, photographed, leaves narrow periodic peaks; print, text and
    paper spread their energy. Low frequencies (the layout, lines of text) and the
    JPEG block grid's own peaks (multiples of 1/8 cycle per pixel) are left out, and
    so are the axes (see ``axis_moire_measure``). ``log``: ``_log_spectrum(grey)`` when
    already computed.
    """
    if log is None:
        log = _log_spectrum(grey)
    if log is None:
        return 0.0
    side = log.shape[0]
    local = cv2.blur(log, (15, 15))
    prominence = log - local
    keep = _moire_frequencies(side)
    return float(prominence[keep].max()) if keep.any() else 0.0


@lru_cache(maxsize=4)
def _moire_frequencies(side: int) -> npt.NDArray[np.bool_]:
    """The frequencies ``moire_measure`` looks at, for a ``side`` x ``side`` spectrum
    (the same for every photo whose card is 512 px or more: computed once; a few sides
    kept, not every one from 64 to 512, which would hold 100 MB)."""
    freq = np.fft.fftshift(np.fft.fftfreq(side))
    fy, fx = np.meshgrid(freq, freq, indexing="ij")
    radius = np.hypot(fx, fy)
    keep = radius > 0.12
    tol = 1.5 / side
    for grid in (0.125, 0.25, 0.375, 0.5):
        keep &= ~((np.abs(np.abs(fx) - grid) < tol) | (np.abs(np.abs(fy) - grid) < tol))
    keep &= ~((np.abs(fx) < tol) | (np.abs(fy) < tol))
    frozen = np.asarray(keep, np.bool_)
    frozen.flags.writeable = False
    return frozen


def stripe_moire(image: BGRImage, corners: Floats) -> float:
    """How far the strongest coarse colour stripe over the card stands out (STRIPE_*).

    The card inside ``corners`` is drawn upright at STRIPE_CARD; the peak of each colour
    difference's spectrum over its neighbourhood (``moire_measure``'s prominence) is taken
    within STRIPE_BAND, and the weaker of the two is returned: a screen's hue cycle puts
    its stripes in both.
    """
    width, height = STRIPE_CARD
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    warp = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), target)
    card = cv2.warpPerspective(image, warp, (width, height)).astype(np.float32)
    card = card[STRIPE_INSET:-STRIPE_INSET, STRIPE_INSET:-STRIPE_INSET]
    blue, green, red = card[..., 0], card[..., 1], card[..., 2]
    spectra = _log_spectra(red - green, np.asarray(blue - (red + green) / 2, np.float32))
    if spectra is None:
        return 0.0
    keep = _stripe_frequencies(spectra[0].shape[0])
    peaks = [float((log - cv2.blur(log, (15, 15)))[keep].max()) for log in spectra]
    return min(peaks)


@lru_cache(maxsize=2)
def _stripe_frequencies(side: int) -> npt.NDArray[np.bool_]:
    """The frequencies ``stripe_moire`` looks at, for a ``side`` x ``side`` spectrum."""
    freq = np.fft.fftshift(np.fft.fftfreq(side))
    fy, fx = np.meshgrid(freq, freq, indexing="ij")
    radius = np.hypot(fx, fy)
    frozen = np.asarray((radius > STRIPE_BAND[0]) & (radius <= STRIPE_BAND[1]), np.bool_)
    frozen.flags.writeable = False
    return frozen


def tiled_moire_measure(grey: Floats) -> float:
    """``moire_measure``'s median over TILE_SIDE-pixel tiles of ``grey`` (at most
    TILE_COUNT, evenly spread; 0 when the card holds none).

    A screen shot at an angle: its pixel grid's period changes across the card, so its
    peak spreads over the whole card's spectrum and stands out little; over a small
    tile the period is near constant and the peak narrow. A screen lights every tile
    with its grid; a card's print makes a peak in a few tiles, not in most.
    """
    rows = (grey.shape[0] // TILE_SIDE) * TILE_SIDE
    columns = (grey.shape[1] // TILE_SIDE) * TILE_SIDE
    if not rows or not columns:
        return 0.0
    tiles = (
        grey[:rows, :columns]
        .reshape(rows // TILE_SIDE, TILE_SIDE, columns // TILE_SIDE, TILE_SIDE)
        .swapaxes(1, 2)
        .reshape(-1, TILE_SIDE, TILE_SIDE)
    )
    if len(tiles) > TILE_COUNT:
        tiles = tiles[np.linspace(0, len(tiles) - 1, TILE_COUNT).round().astype(int)]
    return float(np.median([moire_measure(tile) for tile in tiles]))


def axis_moire_measure(grey: Floats, log: Floats | None = None) -> float:
    """The strongest narrow peak on the spectrum's axes, over the axis's own median.

    A pixel grid level with the photo (turned under a degree) puts its moiré on the
    axes, where every straight edge of the card and its text also puts energy; that
    energy runs smoothly along the axis, so the peak is measured against a running
    median along it, not against its 2-D neighbourhood. ``log`` as in ``moire_measure``.
    """
    if log is None:
        log = _log_spectrum(grey)
    if log is None:
        return 0.0
    side, centre = log.shape[0], log.shape[0] // 2
    freq = np.fft.fftshift(np.fft.fftfreq(side))
    keep = np.abs(freq) > 0.12
    for grid in (0.125, 0.25, 0.375, 0.5):
        keep &= np.abs(np.abs(freq) - grid) > 2.5 / side
    best = 0.0
    band = slice(centre - AXIS_BAND, centre + AXIS_BAND + 1)
    for profile in (log[band, :].max(axis=0), log[:, band].max(axis=1)):
        padded = np.pad(profile, AXIS_WINDOW // 2, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, AXIS_WINDOW)
        prominence = profile - np.median(windows, axis=1)
        best = max(best, float(prominence[keep].max()))
    return best


def framed_sides(image: BGRImage, outline: Outline) -> int:
    """How many of the card's four sides lie along a screen's dark frame (FRAME_*).

    The photo (grey, at most FRAME_SIDE pixels long) is resampled in the text's own
    frame (``outline``'s ``u`` and ``v``), FRAME_LOOK text widths beyond the text on
    every side; beyond each side of the text, the median grey of each row parallel to
    it gives a profile going outwards. The card's own level is the median over the
    text's extent (its paper, between the strokes).
    """
    scale = min(1.0, FRAME_SIDE / float(max(image.shape[:2])))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    left, right, top, bottom = (t * scale for t in outline.text)
    span = right - left
    across = bottom - top
    if span < 8 or across < 2:
        return 0
    look = FRAME_LOOK * span
    width, height = round(span + 2 * look), round(across + 2 * look)
    u, v, origin = outline.u, outline.v, outline.origin * scale
    corner = origin + (left - look) * u + (top - look) * v
    # Frame pixel (i, j) is photo pixel corner + i u + j v; outside the photo: -1.
    to_photo = np.array([[u[0], v[0], corner[0]], [u[1], v[1], corner[1]]], np.float32)
    frame = np.asarray(
        cv2.warpAffine(
            grey.astype(np.float32),
            to_photo,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=-1.0,
        ),
        np.float32,
    )
    x0, y0 = round(look), round(look)
    x1, y1 = x0 + round(span), y0 + round(across)
    text = frame[y0:y1, x0:x1]
    if not (text >= 0).any():
        return 0
    card = float(np.median(text[text >= 0]))
    # Rows parallel to each side, from the text outwards (a row per column of the strip).
    strips = (
        frame[y0:y1, :x0][:, ::-1],
        frame[y0:y1, x1:],
        frame[:y0, x0:x1][::-1, :].T,
        frame[y1:, x0:x1].T,
    )
    return sum(_framed(strip, card, span) for strip in strips)


def _most_framed(image: BGRImage, outline: Outline, others: Sequence[list[Floats]]) -> int:
    """``framed_sides`` of the card's cluster (``outline``), or, when it falls short of a
    screen, the most of any other text cluster's.

    A card shown small on a screen can give fewer or smaller boxes than clutter on the
    desk beside the screen (a sticky note's four lines outweighing the one line read off
    the screen: seed 4242, the note measured and nothing of the screen), yet it still sits
    in the screen's dark frame. Clutter's text does not: the other clusters of the clean
    photos of seeds 4242, 20261129, 5151 and 8484 (224 clusters on 320 photos) have at
    most 1 framed side, real-dev's (57 on 52 photos) at most 2, as the card's own cluster
    there, so FRAME_SIDES (3) keeps its margin of one side and is not chosen again. Costs
    a ``find_outline`` and a ``framed_sides`` per other cluster: 22 ms CPU a clean photo
    on average, at most 171 ms (seed 4242, six clusters).
    """
    framed = framed_sides(image, outline)
    for cluster in others:
        if framed >= FRAME_SIDES:
            break
        framed = max(framed, framed_sides(image, find_outline(image, np.concatenate(cluster))))
    return framed


def _framed(strip: Floats, card: float, span: float) -> bool:
    """Whether ``strip`` (rows along a side, columns going outwards) holds a screen's dark
    frame: see FRAME_DARK and the thresholds after it."""
    inside = strip >= 0
    whole = inside.mean(axis=0) >= FRAME_INSIDE
    samples = np.where(inside, strip, np.nan)
    profile = np.full(strip.shape[1], np.nan, np.float32)
    if whole.any():
        profile[whole] = np.nanmedian(samples[:, whole], axis=0)
    dark = profile < FRAME_SHARE * card  # NaN (beyond the photo) is never dark
    if not dark.any():
        return False
    start = int(np.argmax(dark))
    lit = np.flatnonzero(~dark[start:])
    if not len(lit):
        return False  # dark to the end of the look: a dark desk
    end = start + int(lit[0])
    beyond = profile[end : end + max(3, round(0.1 * span))]
    beyond = beyond[~np.isnan(beyond)]
    if not len(beyond):
        return False  # the band runs into the photo's edge
    band = float(np.median(profile[start:end]))
    return bool(
        end - start >= FRAME_WIDTH * span
        and band <= FRAME_DARK
        and float(np.median(beyond)) >= FRAME_LIFT * band + FRAME_STEP
    )


def intrusion_card(outline: Outline, text_height: float) -> Floats | None:
    """The card's corners for ``intrusion_measure`` when its outline found some of its
    sides but not all four; None when it found all (``Outline.quad``) or none.

    A thumb across the card's side breaks that side's edge, so the outline misses it,
    and the text's hull, which stands for the card then, can leave the thumb outside
    (seed 4242: thumbs over a bank card's lower half, or an ID back's blank lower
    corner). A missing side is put where the opposite side and ID-1's aspect say when
    the other two sides are found (as ``share_outside`` does); else a text height
    beyond the text, as the hull was: a found side still bounds the card where the
    thumb came in.
    """
    found = outline.sides
    if all(side is None for side in found) or all(side is not None for side in found):
        return None
    sides, tilts = list(found), list(outline.tilts)
    for low, other, ratio in ((0, 2, CARD_ASPECT), (2, 0, 1 / CARD_ASPECT)):
        a, b = found[other], found[other + 1]
        size = None if a is None or b is None else (b - a) * ratio
        for side, opposite, sign in ((low, low + 1, -1.0), (low + 1, low, 1.0)):
            if found[side] is not None:
                continue
            near = found[opposite]
            if near is not None and size is not None:
                sides[side] = near + sign * size
            else:
                sides[side] = outline.text[side] + sign * text_height
            tilts[side] = 0.0
    left, right, top, bottom = sides
    turns = (tilts[0], tilts[1], tilts[2], tilts[3])
    return replace(outline, sides=(left, right, top, bottom), tilts=turns).quad()


def cut_card(outline: Outline, text_height: float, share: float | None) -> Floats | None:
    """The card's corners when the photo's edge cut it (``share``, its share beyond the
    edge, over OUTSIDE_LIMIT) and every side it did not find is put where ID-1's aspect
    says, from the opposite side and the other two (``anchored_sides``); else None.

    A side so put lies beyond the photo's edge: between the found sides and that edge
    all is card, no desk, so the card's part in the photo is where its colour is. The
    text's hull alone held only black print on the cut cards of seeds 5151 and 6262
    (the coloured emblem, portrait or labels cut off): a false ``photocopy``. A side put
    inside the photo is not used: there the card drawn by the aspect could spill onto the
    desk (a photocopy's paper margin makes the found sides the paper's), and the desk's
    colour would hide a copy.
    """
    if share is None or share <= OUTSIDE_LIMIT or not all(anchored_sides(outline)):
        return None
    return intrusion_card(outline, text_height)


def _inset_card(
    shape: tuple[int, ...], corners: Floats, text_height: float
) -> npt.NDArray[np.bool_]:
    """The card inside ``corners``, CARD_INSET text heights in from its sides (the desk
    stays out); the photo's own edge is not a side and is not inset from."""
    height, width = shape[:2]
    points = np.round(corners).astype(np.int32)
    margin = 2 * round(CARD_INSET * text_height) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (margin, margin))
    # Eroded over the card's bounding rectangle, widened by the disc's reach, not over the
    # whole photo: a pixel's erosion looks no further than that reach, so every pixel of
    # the card sees the same neighbours (the rectangle's sides are either the photo's
    # edge, as before, or empty pixels past the card). The same mask, a fraction of the
    # work on a card small in a large photo.
    reach = margin // 2 + 1
    x0, y0 = (max(0, int(v) - reach) for v in points.min(axis=0))
    x1 = min(width, int(points[:, 0].max()) + reach + 1)
    y1 = min(height, int(points[:, 1].max()) + reach + 1)
    inset = np.zeros((height, width), np.bool_)
    if x1 <= x0 or y1 <= y0:
        return inset
    part = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(part, points - (x0, y0), 1)
    inset[y0:y1, x0:x1] = cv2.erode(part, disc) > 0
    return inset


def anchored_sides(outline: Outline) -> list[bool]:
    """Which sides (left, right, top, bottom) ``intrusion_card`` puts where the card
    ends: found, or put by ID-1's aspect from the opposite side and the other two."""
    sides = outline.sides
    anchored = []
    for index, side in enumerate(sides):
        opposite = sides[index ^ 1]
        others = sides[2:] if index < 2 else sides[:2]
        sized = all(other is not None for other in others)
        anchored.append(side is not None or (opposite is not None and sized))
    return anchored


def intrusion_measure(
    image: BGRImage,
    quads: Sequence[Floats],
    text_height: float,
    card: Floats | None,
    whole: bool = True,
    found: Sequence[bool] = (),
) -> float:
    """How much of the card's text lies under a finger: a skin-coloured region, not of
    the card's own colour, connected to the photo's edge, in text heights squared.

    A hand holding the card or a thumb over it comes in from beyond the frame; the
    card's own print (an ID front's portrait, an orange bank card's pattern) lies inside
    the card and does not reach the photo's edge, or is the card's own colour. ``card``:
    the card's four corners when its outline was found, else the text's hull widened by
    a text height stands for it. ``whole``: False when ``card`` was drawn by
    ``intrusion_card`` from some of its sides (then a region must go beyond it, or
    reach the photo's edge past one of the ``found`` sides, left, right, top, bottom:
    those ``anchored_sides`` gives).
    """
    scale = min(1.0, INTRUSION_TEXT_PX / text_height)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    unit = text_height * scale
    height, width = small.shape[:2]
    text = np.zeros((height, width), np.uint8)
    for quad in quads:
        cv2.fillConvexPoly(text, np.round(quad * scale).astype(np.int32), 1)
    # Where the fields are: the text's hull (a finger over a field hides its box).
    fields = np.zeros((height, width), np.uint8)
    hull = cv2.convexHull(np.concatenate(list(quads)) * scale).astype(np.int32)
    cv2.fillConvexPoly(fields, hull, 1)
    area = np.zeros((height, width), np.uint8)
    if card is not None:
        cv2.fillConvexPoly(area, np.round(card * scale).astype(np.int32), 1)
    else:
        size = 2 * round(unit) + 1
        area = cv2.dilate(fields, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    ycrcb = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb).astype(np.int16)
    luma, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    skin = (
        (cr >= INTRUSION_CR[0])
        & (cr <= INTRUSION_CR[1])
        & (cb >= INTRUSION_CB[0])
        & (cb <= INTRUSION_CB[1])
        & (luma > INTRUSION_Y)
    )
    plain = (area > 0) & (cv2.dilate(text, np.ones((3, 3), np.uint8)) == 0)
    if plain.any():
        chroma = np.abs(cr - np.median(cr[plain])) + np.abs(cb - np.median(cb[plain]))
        skin &= chroma > INTRUSION_CARD_CHROMA
    # Cut along strong edges: the card's side between a skin-coloured print and a desk of
    # the same hue is one; a finger lying over the side has none across it.
    luma8 = ycrcb[..., 0].astype(np.uint8)
    square = np.ones((3, 3), np.uint8)
    skin &= cv2.dilate(luma8, square).astype(np.int16) - cv2.erode(luma8, square) <= INTRUSION_EDGE
    count, labels = cv2.connectedComponents(skin.astype(np.uint8), connectivity=8)
    if count <= 1:
        return 0.0
    size = 2 * round(unit) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    # Over the card: its outline (or the text's widened hull) less half a text height,
    # so that a hand holding the card by its rim counts little.
    inner = cv2.erode(area, disc[::2, ::2] if size > 2 else disc)
    on_card = np.bincount(labels[inner > 0], minlength=count)
    rim = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    entering = np.bincount(rim, minlength=count) > 0
    beyond = cv2.dilate(area, disc) == 0
    off_card = np.bincount(labels[beyond], minlength=count)
    if card is not None and whole:
        # With the outline found, a region reaching a text height beyond it comes from
        # outside the card too (a thumb whose hand the frame does not show).
        entering |= off_card >= unit**2
    elif card is not None:
        # With a side put in by ``intrusion_card``, the card may run to the photo's edge
        # past it (a real bank card filling the frame, its red print reaching the edge
        # where its top side should be: real-dev, 57 text heights² when the photo's
        # edge sufficed): a region must go a text height beyond the card so drawn, as
        # the thumbs of seed 4242 over a card with a side missing do; and not be the
        # desk (as below).
        entering = off_card >= unit**2
        # A side found, or put by ID-1's aspect from the three others, is where the card
        # ends: a region reaching the photo's edge past it (and past no side put a text
        # height past the text, beyond which the card may go on) comes from outside
        # (seed 4242: a thumb across an ID back's lower side, which it broke, to the
        # photo's edge a text height below; 3.6 by the hull alone).
        past = _past_found_sides((height, width), card * scale, found)
        if past is not None:
            border = np.zeros((height, width), np.bool_)
            border[[0, -1], :] = True
            border[:, [0, -1]] = True
            entering |= np.bincount(labels[border & past & beyond], minlength=count) > 0
        entering &= off_card <= INTRUSION_DESK * max(1, int(area.sum()))
        entering &= off_card <= INTRUSION_BEYOND * on_card
    else:
        # Without it, the text's hull may reach over the desk (a note's text beside
        # the card): a region spread over the desk, more of it off the card than the
        # card's own area, is the desk, not a hand.
        entering &= off_card <= INTRUSION_DESK * max(1, int(area.sum()))
    entering[0] = False
    entering &= on_card <= INTRUSION_MAX_CARD * max(1, int(area.sum()))
    return float(on_card[entering].max(initial=0)) / unit**2


def _past_found_sides(
    shape: tuple[int, int], corners: Floats, found: Sequence[bool]
) -> npt.NDArray[np.bool_] | None:
    """Pixels beyond one of the card's ``found`` sides (left, right, top, bottom) and
    beyond none of the others; ``corners`` as ``Outline.quad`` orders them (top-left,
    top-right, bottom-right, bottom-left). None when no side is given as found."""
    if not any(found):
        return None
    # Each side as the corners it joins, in the order left, right, top, bottom.
    ends = ((3, 0), (1, 2), (0, 1), (2, 3))
    centre = corners.mean(axis=0)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    past_found = np.zeros(shape, np.bool_)
    past_other = np.zeros(shape, np.bool_)
    for (a, b), is_found in zip(ends, found, strict=True):
        (ax, ay), (bx, by) = corners[a], corners[b]
        # The sign of the cross product tells the side of the line a-b a point lies on:
        # beyond it is the sign opposite to the card's centre's.
        pixels = (bx - ax) * (ys - ay) - (by - ay) * (xs - ax)
        centre_side = (bx - ax) * (centre[1] - ay) - (by - ay) * (centre[0] - ax)
        beyond = np.sign(pixels) == -np.sign(centre_side)
        if is_found:
            past_found |= beyond
        else:
            past_other |= beyond
    return past_found & ~past_other


def _card_glare(
    image: BGRImage,
    hull: npt.NDArray[np.uint8],
    card: npt.NDArray[np.bool_] | None,
    quads: Sequence[Floats],
    boxes: Sequence[TextBox],
    text_height: float,
    sheens: list[Place] | None = None,
) -> float:
    """``glare_measure`` over the text's widened hull; then, when the card's outline was
    found (``card``, inside it), over the whole card with every box on it as its text.

    A bank card's large number can make a cluster of its own that leaves the bank's
    name beyond the hull, and a reflection washing it out with it (seed 20261129). Over
    the whole card a blob must stand out further (GLARE_SURROUND_CARD): a pale card's
    blank stretch beyond the hull, pushed over 245 by a mild sheen, sits at 190-230, the
    spot at 120 or less;
    and it must lie clear of the card's sides: a white band along a real card's side
    (real-dev, one photo) is print or the desk past an outline a little off, not a spot.
    ``sheens`` as ``glare_measure`` takes it, the places in the photo's coordinates.
    """
    text = list(quads)

    def over(region: npt.NDArray[np.bool_], whole_card: bool) -> float:
        x, y, w, h = cv2.boundingRect(region.astype(np.uint8))
        mask = np.zeros((h, w), np.uint8)
        for quad in text:
            cv2.fillConvexPoly(mask, (quad - (x, y)).astype(np.int32), 1)
        crop = image[y : y + h, x : x + w]
        inside = region[y : y + h, x : x + w]
        local = [quad - (x, y) for quad in text]
        found: list[Place] | None = None if sheens is None else []
        share = glare_measure(crop, inside, text_height, mask > 0, whole_card, local, found)
        if sheens is not None and found:
            sheens.extend((x0 + x, y0 + y, x1 + x, y1 + y) for x0, y0, x1, y1 in found)
        return share

    found = over(hull > 0, False)
    if card is None or found > GLARE_LIMIT:
        return found
    height, width = card.shape
    for box in boxes:
        quad = _box_array(box)
        cx, cy = (round(float(v)) for v in quad.mean(axis=0))
        if 0 <= cx < width and 0 <= cy < height and card[cy, cx]:
            text.append(quad)
    return max(found, over((hull > 0) | card, True))


def _distance(quad: Floats, others: Sequence[Floats]) -> float:
    """Pixels from the nearest corner of ``quad`` to the nearest of ``others`` (0 inside)."""
    return min(
        max(0.0, -cv2.pointPolygonTest(other.reshape(-1, 1, 2), (float(x), float(y)), True))
        for other in others
        for x, y in quad
    )


def _edge_gap(quads: Sequence[Floats], width: int, height: int) -> float:
    """Pixels from the nearest corner of ``quads`` to the photo's edge (0 when beyond it)."""
    points = np.concatenate(list(quads))
    gaps = np.concatenate(
        [points[:, 0], points[:, 1], width - 1 - points[:, 0], height - 1 - points[:, 1]]
    )
    return max(0.0, float(gaps.min()))


def measure(image: BGRImage, boxes: Sequence[TextBox]) -> Measures | None:
    """The measures of one photo; None when it has no text to find the card by.

    ``image`` is the photo as sent, ``boxes`` in its coordinates (whatever reading, a
    crop or a turn, they were found on: ``OcrPage.photo_boxes``).
    """
    clusters = text_clusters(boxes)
    quads = clusters[0]
    if not quads:
        return None
    heights = [_box_height(q) for q in quads]
    median = float(np.median(heights))
    text_height = max(4.0, median)
    # Clutter's small print (a receipt, a note) can join the card's cluster at the photo's
    # edge; the card's own lines are at least 0.7 of the median height.
    lines = [q for q, h in zip(quads, heights, strict=True) if h >= 0.7 * median]
    height, width = image.shape[:2]
    edge_gap = _edge_gap(lines, width, height) / text_height
    # A line the photo's edge cuts across keeps only part of its height (the top of
    # an ID front's second line, a bank card's VALID THRU under the number): shorter
    # than 0.7 of the median, it is not among ``lines``, yet it runs into the edge.
    # It lies beside the card's own lines; a note's line cut by the edge, joined to the
    # card's cluster, lies apart from them.
    beside = [q for q in quads if _distance(q, lines) <= EDGE_TOUCH_BESIDE * text_height]
    touching = _edge_gap(beside, width, height) / text_height if beside else float("inf")
    if touching <= EDGE_TOUCH:
        edge_gap = touching

    card_mask = _hull_mask(image.shape, quads, text_height)
    x0, y0, card_width, card_height = cv2.boundingRect(card_mask)
    x1, y1 = x0 + card_width, y0 + card_height
    crop = image[y0:y1, x0:x1]
    inside = card_mask[y0:y1, x0:x1] > 0

    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    zoom = float(np.clip(NORMAL_TEXT_HEIGHT / text_height, 0.1, 3.0))
    normal = cv2.resize(grey, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
    blur = blur_measure(np.asarray(normal, np.float32))
    # One FFT for the grey and the colour spectra: it is the costliest of the image measures.
    red_green = crop[..., 2].astype(np.float32) - crop[..., 1].astype(np.float32)
    spectra = _log_spectra(grey, red_green)
    spectrum, colour_spectrum = (None, None) if spectra is None else spectra
    moire = moire_measure(grey, spectrum)
    axis_moire = axis_moire_measure(grey, spectrum)
    colour_moire = moire_measure(red_green, colour_spectrum)
    tile_moire = tiled_moire_measure(grey)

    outline = find_outline(image, np.concatenate(quads))
    corners = outline.quad()
    share = share_outside(outline)
    on_card: npt.NDArray[np.bool_] | None = None
    # The colour is measured over one region, the first of these that holds pixels (the
    # text's hull last): computed once, not over the hull and again over the card.
    coloured: npt.NDArray[np.uint8] | None = None
    if corners is not None:
        # The whole card when its outline is found: an ID back's red emblem or a bank
        # card's logo can lie beyond its text's hull. Eroded, so the desk stays out.
        card = _inset_card(image.shape, corners, text_height)
        if card.any():
            coloured = image[card]
            on_card = card
    else:
        cut = cut_card(outline, text_height, share)
        if cut is not None:
            # A card the photo cut: its part in the photo, not the text's hull, which
            # can hold only black print once the cut took the coloured part away.
            card = _inset_card(image.shape, cut, text_height)
            if card.any():
                coloured = image[card]
    colour = colour_share(crop[inside] if coloured is None else coloured)
    glare = _card_glare(image, card_mask, on_card, quads, boxes, text_height)
    # The clip test only takes blobs away: measured again only when it may matter.
    sheens: list[Place] = []
    glare_clipped = (
        _card_glare(image, card_mask, on_card, quads, boxes, text_height, sheens)
        if glare > GLARE_LIMIT
        else glare
    )

    saturation = photo_saturation(image)
    outside = -1.0 if share is None else share
    # The card's own lines: a note's small print beside it would pull the text's hull,
    # which stands for the card when its outline is not found, over the desk.
    intrusion = intrusion_measure(image, lines, text_height, corners)
    drawn = intrusion_card(outline, text_height)
    if drawn is not None:
        # The hull keeps every thumb it caught (a card filling the frame, a thumb
        # coming in where the card's found side meets the photo's edge: seed 20261129);
        # the card drawn from its found sides adds those the hull left outside.
        partial = intrusion_measure(
            image, lines, text_height, drawn, False, anchored_sides(outline)
        )
        intrusion = max(intrusion, partial)
    return Measures(
        text_height,
        blur,
        glare,
        colour,
        moire,
        axis_moire,
        edge_gap,
        outside,
        saturation,
        intrusion,
        colour_moire,
        tile_moire,
        _most_framed(image, outline, clusters[1:]),
        glare_clipped,
        0.0 if corners is None else stripe_moire(image, corners),
        tuple(sheens),
    )


def decide(
    measures: Measures,
    missing: Collection[str] = (),
    doubted: bool = True,
    moot: Collection[str] = (),
) -> Quality:
    """Warnings and a 0-100 score; ``missing``: the card's fields that came back empty;
    ``doubted``: whether a box was read with doubt (``read_with_doubt``), when a glare
    must be mostly clipped on a pale surround to count (``Measures.glare_clipped``);
    ``moot``: codes that say nothing of this kind of document
    (``DocumentKind.moot_warnings``), neither given nor counted in the score."""
    codes = _decide_codes(measures, doubted)
    codes = [code for code in codes if code not in moot]
    return Quality(codes, quality_score(measures, codes), measures)


def _decide_codes(measures: Measures, doubted: bool) -> list[str]:
    codes: list[str] = []
    # The outline says how much of the card is missing; without it, text at the edge.
    if measures.outside >= 0:
        cut = measures.outside > OUTSIDE_LIMIT
    else:
        cut = measures.edge_gap < EDGE_GAP_LIMIT
    if cut:
        codes.append("border_incomplete")
    # The card's own colour decides; a photo grey all over is a copy even when the
    # card's area keeps some colour (chroma noise of the JPEG, a coloured lamp).
    if measures.colour < COLOUR_LIMIT or measures.saturation < GREY_SATURATION:
        codes.append("photocopy")
    if _screen(measures):
        codes.append("screen")
    sure = not doubted and measures.glare_clipped >= 0
    glare = (measures.glare_clipped if sure else measures.glare) > GLARE_LIMIT
    # A finger over the card: skin colour coming in from beyond the card over its fields
    # (``intrusion_measure``), not a glare (which says why a field is gone). A cut does
    # not explain a finger: cut-off cards of seed 20261129 measure up to 3.6, and a thumb
    # across the card's side can make the outline take the card for cut (3 thumbs of the
    # two seeds) while it is whole.
    # A finger larger than INTRUSION_OVER_GLARE is one even beside a glare (a thumb on a
    # pale card, the photo also measured as glare).
    if measures.intrusion > (INTRUSION_OVER_GLARE if glare else INTRUSION_LIMIT):
        codes.append("occluded")
    if glare:
        codes.append("glare")
    if measures.blur > BLUR_LIMIT:
        codes.append("blur")
    return codes


def read_with_doubt(boxes: Sequence[TextBox], measures: Measures | None = None) -> bool:
    """Whether the recogniser gave some character of ``boxes`` under GLARE_SHEEN_SURE (or
    did not say): beside a spot the characters its edge washed out are doubted, beside
    a laminate sheen they are read with certainty.

    With ``measures`` that place the blobs the clip test left out (``Measures.sheens``),
    only the boxes within GLARE_SHEEN_NEAR text heights of one of them are asked: a
    box doubted elsewhere on the card (a faint line, a note's print) says nothing of
    the blob.
    """
    if measures is not None and measures.sheens:
        reach = GLARE_SHEEN_NEAR * measures.text_height
        boxes = [box for box in boxes if _near_a_place(box, measures.sheens, reach)]
    return any(not box.certainties or min(box.certainties) < GLARE_SHEEN_SURE for box in boxes)


def _near_a_place(box: TextBox, places: Sequence[Place], reach: float) -> bool:
    """Whether ``box`` lies within ``reach`` pixels of one of ``places`` (gaps between
    its bounding box and theirs, along both axes)."""
    points = _box_array(box)
    left, top = points.min(axis=0)
    right, bottom = points.max(axis=0)
    return any(
        max(x0 - right, left - x1, 0.0) <= reach and max(y0 - bottom, top - y1, 0.0) <= reach
        for x0, y0, x1, y1 in places
    )


def _screen(measures: Measures) -> bool:
    """A photo of a screen: its pixel grid in the grey spectrum, on its axes, in colour,
    or all over the card in small tiles, or in coarse colour stripes over the card; or the
    card inside a screen's dark frame."""
    return (
        measures.framed >= FRAME_SIDES
        or measures.stripe_moire > STRIPE_MOIRE_LIMIT
        or measures.moire > MOIRE_LIMIT
        or measures.axis_moire > AXIS_MOIRE_LIMIT
        or measures.colour_moire > COLOUR_MOIRE_LIMIT
        or measures.tile_moire > TILE_MOIRE_LIMIT
    )


def quality_score(measures: Measures, codes: Collection[str]) -> int:
    """100 for a sharp, whole, clean photo; sharpness sets it, each other fault costs 15.

    Sharpness runs from 100 at a blur of 0.45 (the sharpest photos measured) to 0 at
    0.85 (the most defocused that still read), so BLUR_LIMIT sits at 32.
    """
    sharp = float(np.clip((0.85 - measures.blur) / (0.85 - 0.45), 0.0, 1.0))
    score = 100.0 * sharp
    score -= 15.0 * len([c for c in codes if c != "blur"])
    return round(max(0.0, min(100.0, score)))
