#!/bin/sh
# Regenerates the small test images in this folder (ImageMagick 6.9 from Debian: apt-get install imagemagick).
# ImageCodecFormatsTest holds the pixel values expected from them; most were read back with ImageMagick
# (`convert FILE -auto-orient txt:-`). Run from this folder.
set -eu
IM=${IM:-/usr/bin/convert}
ICC=/usr/share/color/icc/ghostscript

# An asymmetric 32x24 pattern: quadrants red (top left), lime (top right), blue (bottom left), white.
$IM -size 16x12 xc:red -size 16x12 xc:lime +append \( -size 16x12 xc:blue -size 16x12 xc:white +append \) -append \
    -strip pattern.png

# The same pattern stored as each EXIF orientation expects it, with the tag set by exiftool (ImageMagick 6
# writes no EXIF block for -orient): upright once turned (apt-get install libimage-exiftool-perl).
o=1
for op in "" -flop "-rotate 180" -flip -transpose "-rotate 270" -transverse "-rotate 90"; do
    # shellcheck disable=SC2086  # the transform is two words
    $IM pattern.png $op -sampling-factor 1x1 -quality 95 orient-$o.jpg
    exiftool -q -overwrite_original -n -Orientation=$o orient-$o.jpg
    o=$((o + 1))
done
$IM pattern.png -rotate 270 -orient RightTop orient-6.tiff

# Each format, upright.
$IM pattern.png -define webp:lossless=true pattern.webp
$IM pattern.png -compress lzw pattern.tiff
$IM pattern.png BMP3:pattern.bmp
$IM pattern.png -quality 90 pattern-lossy.webp
$IM pattern.png -type palette BMP3:palette.bmp
$IM pattern.png PNG8:palette.png
# A palette PNG whose blue entry is transparent (a tRNS chunk).
$IM pattern.png -transparent blue PNG8:palette-alpha.png
# An animated GIF: the first frame is the pattern, the second its mirror image.
$IM pattern.png \( pattern.png -flop \) -set delay 10 -loop 0 pattern.gif
$IM pattern.png -quality 50 pattern.heic

# CMYK JPEGs of rgb(230,30,30) (YCCK): without a profile (ImageMagick reads back 230,29,30) and with one.
$IM -size 16x16 'xc:rgb(230,30,30)' -colorspace CMYK -quality 95 cmyk.jpg
$IM -size 16x16 'xc:rgb(230,30,30)' -profile $ICC/srgb.icc -profile $ICC/default_cmyk.icc -quality 95 cmyk-icc.jpg
# (ImageMagick writes CMYK JPEGs as YCCK, Adobe transform 2.) The same ink as inverted CMYK (transform 0, as
# Pillow and Photoshop write it), and the profiled ink with Ghostscript's small ICC v4 ps_cmyk.icc embedded,
# as YCCK and as CMYK (ImageMagick, converting through it: 227,79,48). Pillow: apt-get install python3-pil.
$IM -size 16x16 'xc:rgb(230,30,30)' -profile $ICC/srgb.icc -profile $ICC/ps_cmyk.icc -quality 95 cmyk-v4icc.jpg
/usr/bin/python3 - "$ICC" <<'PY'
import sys
from PIL import Image
Image.new('CMYK', (16, 16), (0, 223, 222, 25)).save('cmyk-adobe0.jpg', quality=95)
icc = open(sys.argv[1] + '/ps_cmyk.icc', 'rb').read()
Image.new('CMYK', (16, 16), (109, 235, 247, 0)).save('cmyk-adobe0-v4icc.jpg', quality=95, icc_profile=icc)
PY
# rgb(230,30,30) in sRGB, stored as Adobe RGB (1998) values with that profile embedded.
$IM -size 16x16 'xc:rgb(230,30,30)' -profile $ICC/srgb.icc -profile $ICC/a98.icc -quality 95 adobe-rgb.jpg
# A 64x48 horizontal gradient stored as Adobe RGB (ImageMagick reads 28,90,207 at x=4 and 218,62,29 at x=60),
# and the pattern with an sRGB profile embedded.
$IM -size 48x64 gradient:'rgb(230,60,20)'-'rgb(20,90,220)' -rotate 90 -profile $ICC/srgb.icc -profile $ICC/a98.icc \
    -quality 95 gradient-a98.jpg
$IM pattern.png -profile $ICC/srgb.icc -sampling-factor 1x1 -quality 95 pattern-srgb.jpg
$IM -size 16x16 'xc:rgb(230,30,30)' -profile $ICC/srgb.icc -profile $ICC/a98.icc adobe-rgb.png
$IM -size 16x16 'xc:rgb(230,30,30)' -profile $ICC/srgb.icc -profile $ICC/a98.icc -define webp:lossless=true adobe-rgb.webp

# 16 bits per sample, colour and gray.
$IM -size 8x8 'xc:#123456789ABC' -depth 16 PNG48:rgb16.png
$IM -size 8x8 'xc:#4E204E204E20' -colorspace Gray -define png:bit-depth=16 -define png:color-type=0 gray16.png
$IM -size 8x8 'xc:#123456789ABC' -depth 16 -compress none rgb16.tiff
# Half-transparent rgb(200,40,10), and a gray one, expected over white.
$IM -size 8x8 'xc:rgba(200,40,10,0.5)' PNG32:alpha.png
$IM -size 8x8 'xc:rgba(200,40,10,0.5)' -define webp:lossless=true alpha-lossless.webp
$IM -size 8x8 'xc:rgba(200,40,10,0.5)' -quality 90 alpha-lossy.webp
$IM -size 8x8 'xc:rgba(200,40,10,0.5)' -depth 16 -compress zip rgba16.tiff
$IM -size 8x8 'xc:graya(20%,0.25)' PNG:gray-alpha.png

# A decompression bomb: a valid 1-bit 20000x20000 PNG (400 megapixels in 48 KB).
python3 - <<'PY'
import struct, zlib
w = h = 20000
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
z = zlib.compressobj(9)
row = b'\0' * (1 + w // 8)
data = b''.join(z.compress(row) for _ in range(h)) + z.flush()
with open('bomb.png', 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0))
            + chunk(b'IDAT', data) + chunk(b'IEND', b''))
PY
