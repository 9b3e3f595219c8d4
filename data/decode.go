package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	_ "image/gif"  // registers the GIF decoder for image folders
	_ "image/jpeg" // registers the JPEG decoder for image folders
	_ "image/png"  // registers the PNG decoder for image folders
	"path"
	"strings"

	_ "golang.org/x/image/bmp"  // registers the BMP decoder for image folders
	_ "golang.org/x/image/tiff" // registers the TIFF decoder for image folders
	_ "golang.org/x/image/webp" // registers the WebP decoder for image folders
)

// ImageExtensions are the file extensions of the images an image folder may hold (compared
// without case): torchvision's ImageFolder list less the netpbm formats Go has no decoder for.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

func isImageName(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// colourModel names the colour model of a decoded image as notes report it.
func colourModel(img image.Image) string {
	switch m := img.(type) {
	case *image.YCbCr:
		return "RGB"
	case *image.Gray:
		return "grey"
	case *image.Gray16:
		return "grey 16-bit"
	case *image.CMYK:
		return "CMYK"
	case *image.Paletted:
		return "palette"
	case *image.NRGBA:
		if m.Opaque() {
			return "RGB"
		}
		return "RGBA"
	case *image.RGBA:
		if m.Opaque() {
			return "RGB"
		}
		return "RGBA"
	case *image.NRGBA64:
		if m.Opaque() {
			return "RGB 16-bit"
		}
		return "RGBA 16-bit"
	case *image.RGBA64:
		if m.Opaque() {
			return "RGB 16-bit"
		}
		return "RGBA 16-bit"
	}
	return "other"
}

// decodeBytes decodes an image file's content.
func decodeBytes(b []byte) (image.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(b))
	return img, err
}

// toGrey writes planar RGB pixels (3×n) as ITU-R 601 luma (n), as Go's color.GrayModel
// converts colour to grey.
func toGrey(dst, rgb []uint8) {
	n := len(dst)
	for i := range dst {
		r, g, b := uint32(rgb[i])*0x101, uint32(rgb[n+i])*0x101, uint32(rgb[2*n+i])*0x101
		dst[i] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 24)
	}
}

// toRGB writes img as planar RGB into dst (3×h×w). Alpha is dropped without compositing and grey
// is replicated, as PIL's convert("RGB") that torchvision's loader uses.
func toRGB(img image.Image, dst []uint8, h, w int) {
	b := img.Bounds()
	plane := h * w
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = r, g, bl
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			copy(dst[y*w:], row)
			copy(dst[plane+y*w:], row)
			copy(dst[2*plane+y*w:], row)
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				r, g, bl := color.CMYKToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = r, g, bl
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, i := range row {
				var c color.NRGBA
				if int(i) < len(pal) {
					c = pal[i]
				}
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = c.R, c.G, c.B
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = c.R, c.G, c.B
			}
		}
	}
}

// imageSize returns the width and height an image file's header gives. JPEG and PNG headers
// are read here, without the standard decoders' per-call tables (a cached open of 60,000
// small JPEGs spent most of its time in image.DecodeConfig); other formats, and headers this
// reader does not follow, go to image.DecodeConfig. Decoding checks the rest of the file.
func imageSize(b []byte) (w, h int, err error) {
	switch {
	case len(b) > 24 && string(b[:8]) == "\x89PNG\r\n\x1a\n" && string(b[8:16]) == "\x00\x00\x00\x0dIHDR":
		w, h = int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24]))
		if w > 0 && h > 0 && w < 1<<24 && h < 1<<24 {
			return w, h, nil
		}
	case len(b) > 4 && b[0] == 0xff && b[1] == 0xd8:
		if w, h, ok := jpegSize(b); ok {
			return w, h, nil
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	return cfg.Width, cfg.Height, err
}

// jpegSize finds the frame header (SOFn) of a JPEG file.
func jpegSize(b []byte) (w, h int, ok bool) {
	pos := 2
	for pos+4 <= len(b) {
		if b[pos] != 0xff {
			return 0, 0, false
		}
		m := b[pos+1]
		if m == 0xff { // fill byte
			pos++
			continue
		}
		pos += 2
		if m == 0x01 || m >= 0xd0 && m <= 0xd8 { // markers without a segment
			continue
		}
		if m == 0xd9 || m == 0xda { // end of image or start of scan before a frame
			return 0, 0, false
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if n < 2 || pos+n > len(b) {
			return 0, 0, false
		}
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			if n < 8 {
				return 0, 0, false
			}
			h, w = int(binary.BigEndian.Uint16(b[pos+3:])), int(binary.BigEndian.Uint16(b[pos+5:]))
			return w, h, w > 0 && h > 0
		}
		pos += n
	}
	return 0, 0, false
}
