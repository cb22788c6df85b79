"""Make the README's screenshots of the HTML report (docs/resnet50.png, docs/vit_tiny.png) in
headless Chromium: `python docs/screenshots.py` (needs chromium, chromium-driver, selenium)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import flowvision.models as zoo  # noqa: E402

import flowflops  # noqa: E402
from browser import driver, missing, open_page  # noqa: E402

PAGES = {"resnet50": (zoo.resnet50, "layer3"), "vit_tiny": (zoo.vit_tiny_patch16_224, None)}


def main() -> None:
    why = missing()
    if why:
        sys.exit(f"cannot take screenshots: {why}")
    drv = driver(1280, 900)
    try:
        for name, (factory, zoom) in PAGES.items():
            page = os.path.join("/tmp", f"flowflops-{name}.html")
            with open(page, "w") as f:
                f.write(flowflops.profile(factory(), (1, 3, 224, 224)).to_html(title=f"{name}: eager count"))
            open_page(drv, page)
            if zoom:  # show the zoom: one stage, from the path above the treemap back to the model
                drv.find_element("css selector", f"#ff-treemap .ff-node[data-path='{zoom}'] > .ff-label").click()
            drv.execute_script("document.getElementById('ff-tip').style.display = 'none'")
            out = os.path.join(HERE, f"{name}.png")
            drv.save_screenshot(out)
            print(out)
    finally:
        drv.quit()


if __name__ == "__main__":
    main()
