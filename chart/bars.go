package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Bars draws d as vertical bars, one group per label with a bar per bar series, and its
// line and target series as lines over them through the middle of each group: MQLs per
// week as bars, say, with their running total as a line and the pacing to a goal as a
// target. The value axis starts at zero, or below it when a value is negative. Values are
// written over their bars when they fit the bar's width; when labels are too many to
// write each, every second (third...) one is written.
func Bars(d Data, o Options) template.HTML {
	lo, hi, ok := extent(d, d.Series, o.Percent)
	if !ok {
		return empty("bars", d, o, defaultHeight)
	}
	w, h := o.size(defaultHeight)
	c := begin("bars", d, o, w, h)
	ax := c.axis(lo, hi)
	top, right, bottom := 30.0, 8.0, 24.0
	left := textWidth(strings.Repeat("0", ax.widest)) + 12
	plotW, plotH := max(w-left-right, 1), max(h-top-bottom, 1)
	y := func(v float64) float64 { return ax.at(v, top+plotH, top) }

	c.unitAndLegend(d, w-right)
	for i, t := range ax.ticks {
		fmt.Fprintf(c, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%[2]s" stroke="#e3e3e3"/>`, coord(left), coord(y(t)), coord(left+plotW))
		c.text(left-6, y(t)+4, `class="tick" text-anchor="end" fill="#555"`, ax.labels[i], -1)
	}
	fmt.Fprintf(c, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%[2]s" stroke="#888"/>`, coord(left), coord(y(0)), coord(left+plotW))

	n := float64(len(d.Labels))
	band := plotW / n
	var bars []int
	for i, s := range d.Series {
		if kind(s) == "bar" {
			bars = append(bars, i)
		}
	}
	group := band * 0.8
	bw := group / float64(max(len(bars), 1))
	for i, l := range d.Labels {
		for j, si := range bars {
			s := d.Series[si]
			v, ok := value(s, i, o.Percent)
			if !ok {
				continue
			}
			x := left + float64(i)*band + (band-group)/2 + float64(j)*bw
			y0, y1 := y(max(v, 0)), y(min(v, 0))
			fmt.Fprintf(c, `<rect class="bar series-%d" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				si, coord(x), coord(y0), coord(gapped(bw)), coord(y1-y0), color(si, s), esc(tip(l, s, c.label(v, 2))))
			lab := c.label(v, 2)
			if textWidth(lab) > bw {
				continue
			}
			if v >= 0 {
				c.text(x+bw/2, y0-4, `class="value" text-anchor="middle" fill="#333"`, lab, -1)
			} else if y1+14 <= top+plotH+2 {
				c.text(x+bw/2, y1+13, `class="value" text-anchor="middle" fill="#333"`, lab, -1)
			}
		}
	}
	for si, s := range d.Series {
		if kind(s) == "bar" {
			continue
		}
		pts := make([]point, len(d.Labels))
		for i := range d.Labels {
			v, ok := value(s, i, o.Percent)
			pts[i] = point{left + (float64(i)+0.5)*band, y(v), ok}
		}
		c.line(si, s, pts, group/2)
		if kind(s) == "line" {
			for i, p := range pts {
				if p.ok {
					v, _ := value(s, i, o.Percent)
					fmt.Fprintf(c, `<circle class="point series-%d" cx="%s" cy="%s" r="3" fill="%s"><title>%s</title></circle>`,
						si, coord(p.x), coord(p.y), color(si, s), esc(tip(d.Labels[i], s, c.label(v, 2))))
				}
			}
		}
	}
	every := max(int(math.Ceil(36/band)), 1)
	for i := 0; i < len(d.Labels); i += every {
		c.text(left+(float64(i)+0.5)*band, top+plotH+17, `class="label" text-anchor="middle" fill="#333"`,
			d.Labels[i], int(band*float64(every)/charWidth)-1)
	}
	return c.end()
}

// HBars draws d as horizontal bars, one row per label written at its left, with a bar
// per bar series; line and target series mark their values across the rows, such as a
// compliance target. It suits long labels: rejection reasons, reps. Values are written
// past the ends of their bars, or inside them when there is no room past them.
func HBars(d Data, o Options) template.HTML {
	bars := 0
	for _, s := range d.Series {
		if kind(s) == "bar" {
			bars++
		}
	}
	top, right, bottom := 30.0, 8.0, 24.0
	natural := top + bottom + float64(len(d.Labels)*(max(bars, 1)*16+10))
	lo, hi, ok := extent(d, d.Series, o.Percent)
	if !ok {
		return empty("hbars", d, o, 120)
	}
	w, h := o.size(int(natural))
	c := begin("hbars", d, o, w, h)
	ax := c.axis(lo, hi)
	right = max(right, textWidth(strings.Repeat("0", ax.widest))/2+2)
	widest := 0
	for _, l := range d.Labels {
		widest = max(widest, len([]rune(l)))
	}
	left := min(max(textWidth(strings.Repeat("0", widest))+12, 40), math.Round(w*0.35))
	plotW, plotH := max(w-left-right, 1), max(h-top-bottom, 1)
	x := func(v float64) float64 { return ax.at(v, left, left+plotW) }

	c.unitAndLegend(d, w-right)
	for i, t := range ax.ticks {
		fmt.Fprintf(c, `<line class="grid" x1="%s" y1="%s" x2="%[1]s" y2="%[3]s" stroke="#e3e3e3"/>`, coord(x(t)), coord(top), coord(top+plotH))
		c.text(x(t), top+plotH+17, `class="tick" text-anchor="middle" fill="#555"`, ax.labels[i], -1)
	}
	fmt.Fprintf(c, `<line class="axis" x1="%s" y1="%s" x2="%[1]s" y2="%[3]s" stroke="#888"/>`, coord(x(0)), coord(top), coord(top+plotH))

	row := plotH / float64(len(d.Labels))
	group := row * 0.8
	bh := group / float64(max(bars, 1))
	for i, l := range d.Labels {
		y := top + float64(i)*row
		c.text(left-6, y+row/2+4, `class="label" text-anchor="end" fill="#333"`, l, int((left-12)/charWidth))
		j := 0
		for si, s := range d.Series {
			v, ok := value(s, i, o.Percent)
			if kind(s) == "bar" {
				j++
			}
			if !ok {
				continue
			}
			if kind(s) != "bar" {
				fmt.Fprintf(c, `<line class="%s series-%d" x1="%s" y1="%s" x2="%[3]s" y2="%[5]s" stroke="%s" stroke-width="2"%s><title>%s</title></line>`,
					kind(s), si, coord(x(v)), coord(y+1), coord(y+row-1), color(si, s), dash(s), esc(tip(l, s, c.label(v, 2))))
				continue
			}
			by := y + (row-group)/2 + float64(j-1)*bh
			x0, x1 := x(min(v, 0)), x(max(v, 0))
			lab := c.label(v, 2)
			fmt.Fprintf(c, `<rect class="bar series-%d" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				si, coord(x0), coord(by), coord(x1-x0), coord(gapped(bh)), color(si, s), esc(tip(l, s, lab)))
			tw, ty := textWidth(lab), by+bh/2+4
			switch {
			case bh < fontSize-2:
			case v >= 0 && x1+4+tw <= w-2:
				c.text(x1+4, ty, `class="value" fill="#333"`, lab, -1)
			case v < 0 && x0-4-tw >= left:
				c.text(x0-4, ty, `class="value" text-anchor="end" fill="#333"`, lab, -1)
			case x1-x0 >= tw+8 && v >= 0:
				c.text(x1-4, ty, `class="value inside" text-anchor="end" fill="#fff"`, lab, -1)
			case x1-x0 >= tw+8:
				c.text(x0+4, ty, `class="value inside" fill="#fff"`, lab, -1)
			}
		}
	}
	return c.end()
}

// axis is a linear value axis over nice ticks.
type axis struct {
	ticks  []float64
	labels []string
	widest int // characters in the longest label
}

func (c *canvas) axis(lo, hi float64) axis {
	var a axis
	var dec int
	a.ticks, dec = niceTicks(lo, hi)
	for _, t := range a.ticks {
		a.labels = append(a.labels, c.label(t, dec))
		a.widest = max(a.widest, len(a.labels[len(a.labels)-1]))
	}
	return a
}

// at maps v from the axis's span onto from..to.
func (a axis) at(v, from, to float64) float64 {
	lo, hi := a.ticks[0], a.ticks[len(a.ticks)-1]
	return from + (v-lo)/(hi-lo)*(to-from)
}

type point struct {
	x, y float64
	ok   bool
}

// line draws a line or target series through pts, broken where a point is missing; a
// point alone between gaps is drawn as a level stroke half wide either side.
func (c *canvas) line(si int, s Series, pts []point, half float64) {
	var d strings.Builder
	for i, p := range pts {
		switch {
		case !p.ok:
		case (i == 0 || !pts[i-1].ok) && (i == len(pts)-1 || !pts[i+1].ok):
			fmt.Fprintf(&d, "M%s %sh%s", coord(p.x-half), coord(p.y), coord(2*half))
		case i == 0 || !pts[i-1].ok:
			fmt.Fprintf(&d, "M%s %s", coord(p.x), coord(p.y))
		default:
			fmt.Fprintf(&d, "L%s %s", coord(p.x), coord(p.y))
		}
	}
	if d.Len() > 0 {
		fmt.Fprintf(c, `<path class="%s series-%d" d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"%s/>`,
			kind(s), si, d.String(), color(si, s), dash(s))
	}
}

// gapped narrows a bar's thickness to leave a pixel between neighbours, when it is thick
// enough to spare one.
func gapped(t float64) float64 {
	if t > 4 {
		return t - 1
	}
	return t
}

// tip is the hover text of a drawn value.
func tip(label string, s Series, value string) string {
	if s.Name == "" {
		return label + ": " + value
	}
	return label + ", " + s.Name + ": " + value
}
