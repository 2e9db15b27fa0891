#include "kafka/dead_letter_writer.h"

namespace anchor_events::kafka {
namespace {

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  std::unique_ptr<DeadLetterWriter::Done> done(
      static_cast<DeadLetterWriter::Done*>(message->_private));
  if (!done) {
    return;
  }
  if (message->err) {
    (*done)(Error{std::string("dead-letter write failed: ") + rd_kafka_err2str(message->err)});
  } else {
    (*done)(Status());
  }
}

std::vector<std::pair<std::string, std::string>> Headers(const DeadLetter& letter) {
  namespace h = dead_letter_header;
  std::vector<std::pair<std::string, std::string>> headers = letter.original_headers;
  headers.emplace_back(h::kLane, letter.lane);
  headers.emplace_back(h::kReason, letter.reason);
  headers.emplace_back(h::kAttempts, std::to_string(letter.attempts));
  headers.emplace_back(h::kLastStatus, std::to_string(letter.last_status));
  headers.emplace_back(h::kLastError, letter.last_error);
  headers.emplace_back(h::kFirstAttemptAt, letter.first_attempt_at);
  headers.emplace_back(h::kLastAttemptAt, letter.last_attempt_at);
  headers.emplace_back(h::kSourceTopic, letter.source_topic);
  headers.emplace_back(h::kSourcePartition, std::to_string(letter.source_partition));
  headers.emplace_back(h::kSourceOffset, std::to_string(letter.source_offset));
  headers.emplace_back(h::kEventId, letter.event_id);
  return headers;
}

}  // namespace

Result<std::unique_ptr<DeadLetterWriter>> DeadLetterWriter::Create(
    const config::KafkaConfig& kafka) {
  Result<std::unique_ptr<Producer>> producer = Producer::Create(kafka, OnDelivery);
  if (!producer.ok()) {
    return producer.error();
  }
  std::unique_ptr<DeadLetterWriter> writer(new DeadLetterWriter());
  writer->producer_ = std::move(producer).value();
  writer->topic_ = kafka.dead_letter_topic;
  writer->thread_ = std::thread([w = writer.get()] { w->Serve(); });
  return writer;
}

DeadLetterWriter::~DeadLetterWriter() {
  // Outstanding writes are given a bounded chance; their callbacks still run.
  producer_->Flush(10000).ok();
  stop_.store(true);
  thread_.join();
}

void DeadLetterWriter::Serve() {
  while (!stop_.load()) {
    rd_kafka_poll(producer_->handle(), 100);
  }
}

void DeadLetterWriter::Write(const DeadLetter& letter, Done done) {
  OutgoingRecord record{topic_, letter.key, letter.value, Headers(letter)};
  auto owned = std::make_unique<Done>(std::move(done));
  Status status = producer_->ProduceAsync(record, owned.get());
  if (status.ok()) {
    owned.release();  // the delivery report owns it now
    return;
  }
  (*owned)(status);
}

}  // namespace anchor_events::kafka
