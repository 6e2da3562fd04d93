package chart

import (
	"fmt"
	"html/template"
	"math"
)

// Funnel draws the first series of d as a funnel: a centred bar per stage, as wide as
// its value is of the largest, with the conversion from each stage to the next written
// between them. Other series are ignored. A negative value is drawn as no bar, and no
// conversion is written from a stage without a positive value.
func Funnel(d Data, o Options) template.HTML {
	const top, bottom, right = 8.0, 8.0, 8.0
	barH, gap := 24.0, 20.0
	n := float64(len(d.Labels))
	natural := top + bottom + n*barH + max(n-1, 0)*gap
	var s Series
	if len(d.Series) > 0 {
		s = d.Series[0]
	}
	_, vmax, ok := extent(d, []Series{s}, o.Percent)
	if !ok {
		return empty("funnel", d, o, 120)
	}
	w, h := o.size(int(natural))
	scale := max(h-top-bottom, 1) / (natural - top - bottom)
	barH, gap = barH*scale, gap*scale
	widest := 0
	for _, l := range d.Labels {
		widest = max(widest, len([]rune(l)))
	}
	left := min(max(charWidth*float64(widest)+12, 40), math.Round(w*0.35))
	plotW := max(w-left-right, 1)
	cx := left + plotW/2

	c := begin("funnel", d, o, w, h)
	prev, prevOK := 0.0, false
	for i, l := range d.Labels {
		y := top + float64(i)*(barH+gap)
		v, ok := value(s, i, o.Percent)
		if i > 0 && prevOK && ok && prev > 0 && gap >= fontSize {
			if pct := max(v, 0) / prev * 100; !math.IsInf(pct, 0) {
				c.text(cx, y-gap/2+4, `class="conversion" text-anchor="middle" fill="#555"`, "↓ "+short(pct, 1)+"%", -1)
			}
		}
		prev, prevOK = max(v, 0), ok
		c.text(left-6, y+barH/2+4, `class="label" text-anchor="end" fill="#333"`, l, int((left-12)/charWidth))
		if !ok {
			continue
		}
		bw := 0.0
		if vmax > 0 {
			bw = plotW * max(v, 0) / vmax
		}
		lab := c.label(v, 2)
		fmt.Fprintf(c, `<rect class="bar series-0" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
			coord(cx-bw/2), coord(y), coord(bw), coord(barH), palette[0], esc(tip(l, s, lab)))
		tw := textWidth(lab)
		switch {
		case barH < fontSize-2:
		case bw >= tw+8:
			c.text(cx, y+barH/2+4, `class="value inside" text-anchor="middle" fill="#fff"`, lab, -1)
		case cx+bw/2+4+tw <= w-2:
			c.text(cx+bw/2+4, y+barH/2+4, `class="value" fill="#333"`, lab, -1)
		}
	}
	return c.end()
}
