"""The embedded broker never hands a worker a half-written message."""

from __future__ import annotations

import threading

from kombu import Connection, Exchange, Queue

MESSAGES = 2000


def test_consumer_racing_a_producer_gets_every_message_whole(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "control_folder": str(tmp_path), "store_processed": False}  # fmt: skip
    queue = Queue("race", Exchange("race", type="direct"), routing_key="race")
    received: list[dict] = []

    def produce() -> None:
        with Connection("filesystem://", transport_options=options) as connection:
            producer = connection.Producer(serializer="json")
            for number in range(MESSAGES):
                producer.publish({"n": number, "pad": "x" * 2000}, exchange=queue.exchange,
                                 routing_key="race", declare=[queue])  # fmt: skip

    producer_thread = threading.Thread(target=produce)
    with Connection("filesystem://", transport_options=options) as connection:
        consumer_queue = queue(connection.default_channel)
        consumer_queue.declare()
        producer_thread.start()
        while len(received) < MESSAGES:
            message = consumer_queue.get(no_ack=True)
            if message is not None:
                received.append(message.decode())
            elif not producer_thread.is_alive() and not any(folder.glob("*.race.msg")):
                break
    producer_thread.join()

    assert sorted(item["n"] for item in received) == list(range(MESSAGES))
