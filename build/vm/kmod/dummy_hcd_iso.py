#!/usr/bin/env python3
"""dummy_hcd_iso.py SRC DST: make Linux 6.1's dummy_hcd.c serve isochronous endpoints.

Debian's dummy_hcd comments its ISO endpoints out and fails every isochronous URB, so a
USB Audio Class 2 gadget (usb_f_uac2) cannot bind on it. This edit (applied to the
linux-source-6.1 copy by build/vm/modules.sh, never to a kernel tree) exposes the ISO
endpoints and serves ISO URBs one packet per urb->interval, paced per endpoint (a host
driver queues many one-packet URBs; pacing each URB on its own would stream them back to
back, far faster than the sample rate): each packet moves at most one queued gadget
request (u_audio queues one request per packet); with no request queued the packet is
empty, as on a real bus. Every edit asserts that its anchor text is
there, so a changed source fails loudly instead of building something else.
"""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
s = open(src).read()


def sub(old, new, count=1):
    global s
    n = s.count(old)
    if n != count:
        sys.exit(f"dummy_hcd_iso: expected {count} of {old[:60]!r}, found {n}")
    s = s.replace(old, new)


# 1. the ISO endpoints, commented out in three /* ... */ blocks
iso_block = re.compile(r'/\*\n((?:\tEP_INFO\("ep\d+(?:in|out)-iso",\n\t\tUSB_EP_CAPS\(USB_EP_CAPS_TYPE_ISO, USB_EP_CAPS_DIR_(?:IN|OUT)\)\),\n)+)\*/\n')
s, n = iso_block.subn(r'\1', s)
if n != 3:
    sys.exit(f"dummy_hcd_iso: expected 3 commented ISO endpoint blocks, found {n}")

# 2. per-endpoint packet clock, per-URB progress through iso_frame_desc
sub("""	unsigned			stream_en:1;
};""", """	unsigned			stream_en:1;
	ktime_t				iso_next;	/* when the next ISO packet is due */
};""")
sub("""struct urbp {
	struct urb		*urb;
	struct list_head	urbp_list;
	struct sg_mapping_iter	miter;
	u32			miter_started;
};""", """struct urbp {
	struct urb		*urb;
	struct list_head	urbp_list;
	struct sg_mapping_iter	miter;
	u32			miter_started;
	int			iso_index;	/* next iso_frame_desc to serve */
};""")
sub("""	urbp->miter_started = 0;
""", """	urbp->miter_started = 0;
	urbp->iso_index = 0;
""")

# 3. the ISO transfer, before the timer that drives all transfers
sub("""/*
 * Drive both sides of the transfers; looks like irq handlers to both
 * drivers except that the callbacks are invoked from soft interrupt
 * context.
 */""", """/*
 * Isochronous: one packet of urb->iso_frame_desc per urb->interval (microframes at high
 * speed and above, frames below) on each endpoint, whether or not the gadget queued a
 * request. The endpoint's clock (ep->iso_next) spans URBs; a late timer catches up by at
 * most 64 packets per call, and a stream that stalled for more than 64 periods restarts
 * its clock instead of bursting. (The timer ticks every jiffy, 4 ms at Debian's HZ=250, and
 * later under TCG: with a bound of 8 periods the clock restarted at most ticks and the
 * stream ran at two thirds of its rate.) Caller holds dum->lock.
 */
static int dummy_iso_transfer(struct dummy_hcd *dum_hcd, struct urb *urb,
		struct dummy_ep *ep, struct urbp *urbp)
{
	struct dummy		*dum = dum_hcd->dum;
	int			to_host = usb_urb_dir_in(urb);
	u64			period = (u64)max(urb->interval, 1) *
		(dum->gadget.speed >= USB_SPEED_HIGH ? 125000 : 1000000);
	ktime_t			now = ktime_get();
	int			served = 0;

	if (ep->iso_next == 0 ||
			ktime_after(now, ktime_add_ns(ep->iso_next, 64 * period)))
		ep->iso_next = now;
	while (urbp->iso_index < urb->number_of_packets &&
			ktime_compare(now, ep->iso_next) >= 0 && served < 64) {
		struct usb_iso_packet_descriptor *d =
			&urb->iso_frame_desc[urbp->iso_index];
		struct dummy_request	*req;
		u32			len = 0;

		req = list_first_entry_or_null(&ep->queue,
				struct dummy_request, queue);
		if (req) {
			len = min_t(u32, d->length,
					req->req.length - req->req.actual);
			if (to_host)
				memcpy(urb->transfer_buffer + d->offset,
					req->req.buf + req->req.actual, len);
			else
				memcpy(req->req.buf + req->req.actual,
					urb->transfer_buffer + d->offset, len);
			req->req.actual += len;
			req->req.status = 0;
			list_del_init(&req->queue);
			dummy_giveback(dum, &ep->ep, req);
		}
		d->actual_length = len;
		d->status = 0;
		urb->actual_length += len;
		urbp->iso_index++;
		ep->iso_next = ktime_add_ns(ep->iso_next, period);
		served++;
		ep->last_io = jiffies;
	}
	if (urbp->iso_index < urb->number_of_packets)
		return -EINPROGRESS;
	urb->error_count = 0;
	return 0;
}

/*
 * Drive both sides of the transfers; looks like irq handlers to both
 * drivers except that the callbacks are invoked from soft interrupt
 * context.
 */""")

# 4. the timer's ISO case: serve instead of failing
sub("""			limit = max(limit, periodic_bytes(dum, ep));
			status = -EINVAL;	/* fail all xfers */
			break;""", """			status = dummy_iso_transfer(dum_hcd, urb, ep, urbp);
			break;""")

open(dst, "w").write(s)
