#!/usr/bin/env python3
"""Write tiny fake SPARCS scenes in both real layouts, and a fake download archive.

usgs/  l8cloudmasks.zip layout: _data.tif, _photo.png, _qmask.tif, palette _mask.png
osu/   sparcs_data_L8.zip layout: the same with georeferenced _labels.tif
l8cloudmasks.zip  the usgs/ scenes under sending/, served to the download test

Four scenes of 64 x 64 px in four UTM zones (one in the southern hemisphere), falling
in the train, train, test and val splits.
"""

import os
import shutil
import zipfile

from torchgeo_csia.datasets.synthetic import default_scenes, write_scene

SIZE = 64
HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    for layout in ('usgs', 'osu'):
        root = os.path.join(HERE, layout)
        shutil.rmtree(root, ignore_errors=True)
        for i, scene in enumerate(default_scenes(4)):
            write_scene(root, scene, size=SIZE, layout=layout, seed=i)
    archive = os.path.join(HERE, 'l8cloudmasks.zip')
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as zf:
        usgs = os.path.join(HERE, 'usgs')
        for name in sorted(os.listdir(usgs)):
            zf.write(os.path.join(usgs, name), f'sending/{name}')


if __name__ == '__main__':
    main()
